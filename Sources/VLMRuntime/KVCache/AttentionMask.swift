/// Which cached keys each query row of an attention call may see.
///
/// Causal by default: a query sees every key up to its own position. `window` limits how far
/// back it sees (sliding-window layers). `bidirectional` names runs of the call's own rows
/// (relative to its first query) whose queries also see the later keys of their run: Gemma 3
/// reads each image's soft tokens this way. As transformers 5.23 composes it
/// (gemma3 `create_causal_mask_mapping`): global layers OR(causal, same run); sliding layers
/// AND(window, OR(causal, same run)), so the window still cuts a run's earlier keys. A run's
/// keys must be appended in the same call as its queries.
public struct AttentionMask: Sendable, Equatable {
    public var window: Int?
    public var bidirectional: [Range<Int>]

    public init(window: Int? = nil, bidirectional: [Range<Int>] = []) {
        self.window = window; self.bidirectional = bidirectional
    }

    public static let causal = AttentionMask()

    /// Plain causal attention without a window (the decode fast paths need nothing else).
    public var isUnlimitedCausal: Bool { window == nil && bidirectional.isEmpty }

    /// The keys query row t of a call with `tokens` rows after `cached - tokens` earlier ones may
    /// see: [lo, hi) in cache positions. One range: the run only moves `hi` to its end.
    @inline(__always)
    public func visibleRange(cached: Int, tokens: Int, t: Int) -> (Int, Int) {
        let first = cached - tokens, position = first + t
        let lo = window.map { max(0, position - $0 + 1) } ?? 0
        var hi = position + 1
        if !bidirectional.isEmpty, let run = bidirectional.first(where: { $0.contains(t) }) {
            hi = max(hi, first + run.upperBound)
        }
        return (lo, hi)
    }

    /// The union of the visible ranges of rows t0..<t1 (a block of queries computed together).
    @inline(__always)
    public func blockRange(cached: Int, tokens: Int, rows: Range<Int>) -> (Int, Int) {
        if bidirectional.isEmpty {   // lo and hi grow with t
            return (visibleRange(cached: cached, tokens: tokens, t: rows.lowerBound).0,
                    visibleRange(cached: cached, tokens: tokens, t: rows.upperBound - 1).1)
        }
        var lo = Int.max, hi = Int.min
        for t in rows {
            let (a, b) = visibleRange(cached: cached, tokens: tokens, t: t)
            lo = min(lo, a); hi = max(hi, b)
        }
        return (lo, hi)
    }
}
