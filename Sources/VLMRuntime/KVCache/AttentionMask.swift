/// Which cached keys each query row of an attention call may see.
///
/// Causal by default: a query sees every key up to its own position. `window` limits how far
/// back it sees (sliding-window layers). `bidirectional` names runs of the call's own rows
/// (relative to its first query) whose queries also see every key of their run, later ones
/// included: Gemma 3 reads each image's soft tokens this way (transformers'
/// `token_type_ids_mask_function`, OR-ed with the causal and sliding masks; llama.cpp decodes
/// the image chunk with causal attention off). A run's keys must be appended in the same
/// call as its queries.
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
    /// see: [lo, hi) in cache positions. One range: the sliding range [q - window + 1, q] and
    /// the query's run both hold q, so their union is contiguous.
    @inline(__always)
    public func visibleRange(cached: Int, tokens: Int, t: Int) -> (Int, Int) {
        let first = cached - tokens, position = first + t
        var lo = window.map { max(0, position - $0 + 1) } ?? 0
        var hi = position + 1
        if !bidirectional.isEmpty, let run = bidirectional.first(where: { $0.contains(t) }) {
            lo = min(lo, first + run.lowerBound)
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
