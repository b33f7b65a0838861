/// A cache that keeps a decode-time selection and counts how often it recomputed it (reports).
public protocol RecomputingKVCache: KVCache {
    var recomputations: Int { get }
}

/// DyCoke, stage 2: dynamic pruning of the visual part of the KV cache during decoding
/// (Tao et al., CVPR 2025; ../shared/REDUCERS.md).
///
/// At each decode step the current query's attention over the visual span at layer L-1,
/// averaged over heads, is computed (just that one row, as part of layer L-1's own attention).
/// When it has drifted from the previous step's (cosine similarity below `threshold`), the keep
/// set is recomputed: the top (1-P) of the visual tokens by that attention, plus every
/// non-visual position (prompt text and generated tokens). Layers >= L then attend to the keep
/// set only, so most visual keys and values are never read again while it holds. The full
/// cache is kept (a later step may bring a pruned token back), as the reference does.
///
/// Prefill and layers below L run the base cache's full attention unchanged. The wrapper reads
/// a dense (f32/f16) base; over packed caches, DyCoke's first stage still applies and this one
/// is not used.
public final class DyCokeKVCache: KVCache, RecomputingKVCache {
    public let base: KVCache
    /// Cache positions of the visual tokens.
    public let visual: Range<Int>
    public let layer: Int
    public let pruneRatio: Double
    public let threshold: Double
    /// Decode steps so far, and how many of them recomputed the keep set (for reports).
    public private(set) var steps = 0
    public private(set) var recomputations = 0

    private var previous: [Float]?
    private var keep: [Int32] = []
    private var everything: [Int32] = []

    public init?(base: KVCache, visual: Range<Int>, layer: Int, pruneRatio: Double, threshold: Double) {
        guard base is SubsetAttending, layer >= 1, layer < base.shape.layers, !visual.isEmpty else { return nil }
        self.base = base; self.visual = visual; self.layer = layer; self.pruneRatio = pruneRatio; self.threshold = threshold
    }

    public var shape: KVCacheShape { base.shape }
    public func count(layer: Int) -> Int { base.count(layer: layer) }
    public var storedBytes: Int { base.storedBytes }
    public var typeName: String { base.typeName }

    public func append(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens: Int) throws {
        try base.append(layer: layer, keys: keys, values: values, tokens: tokens)
    }

    public func truncate(to position: Int) {
        base.truncate(to: position)
        previous = nil; keep = []
    }

    public func attend(layer l: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float,
                       mask: AttentionMask, output: UnsafeMutablePointer<Float>) {
        let cached = base.count(layer: l)
        guard tokens == 1, mask.isUnlimitedCausal, cached > visual.upperBound, let dense = base as? SubsetAttending else {
            base.attend(layer: l, queries: queries, tokens: tokens, scale: scale, mask: mask, output: output)
            return
        }
        if l == layer - 1 {
            // Full attention, keeping the head-averaged row over all positions.
            if everything.count != cached { everything = (0..<Int32(cached)).map { $0 } }
            var averaged = [Float](repeating: 0, count: cached)
            everything.withUnsafeBufferPointer { p in averaged.withUnsafeMutableBufferPointer { a in
                dense.attend(layer: l, query: queries, positions: p, scale: scale, output: output, averaged: a.baseAddress!)
            }}
            let current = Array(averaged[visual])
            steps += 1
            if keep.isEmpty || previous.map({ Self.cosine($0, current) < Float(threshold) }) ?? true {
                recomputations += 1
                let k = Self.keptCount(visual.count, dropping: pruneRatio)
                let top = (0..<current.count).sorted { current[$0] != current[$1] ? current[$0] > current[$1] : $0 < $1 }.prefix(k)
                let keptVisual = Set(top.map { $0 + visual.lowerBound })
                keep = (0..<cached).filter { !visual.contains($0) || keptVisual.contains($0) }.map(Int32.init)
                previous = current
            } else {
                extendKeep(to: cached)
            }
            return
        }
        if l >= layer, !keep.isEmpty {
            extendKeep(to: cached)
            keep.withUnsafeBufferPointer { p in
                dense.attend(layer: l, query: queries, positions: p, scale: scale, output: output, averaged: nil)
            }
            return
        }
        base.attend(layer: l, queries: queries, tokens: tokens, scale: scale, mask: mask, output: output)
    }

    /// Positions generated since the keep set was made are text: always attended.
    private func extendKeep(to cached: Int) {
        if let last = keep.last, Int(last) + 1 < cached { keep += ((Int(last) + 1)..<cached).map(Int32.init) }
    }

    /// DyCoke's count of what stays when a `fraction` of `n` tokens is dropped (frames in stage
    /// 1, visual tokens in stage 2): floor((1 - fraction) * n), at least 1. The 1e-9 keeps
    /// products that are whole in exact arithmetic whole (20 x 0.2 is 3.999... in Double).
    public static func keptCount(_ n: Int, dropping fraction: Double) -> Int {
        max(1, Int((Double(n) * (1 - fraction) + 1e-9).rounded(.down)))
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in 0..<min(a.count, b.count) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        return dot / max(na.squareRoot() * nb.squareRoot(), 1e-12)
    }
}

/// Caches that can attend one query to a subset of positions (the dense ones).
protocol SubsetAttending {
    func attend(layer: Int, query: UnsafePointer<Float>, positions: UnsafeBufferPointer<Int32>, scale: Float,
                output: UnsafeMutablePointer<Float>, averaged: UnsafeMutablePointer<Float>?)
}

extension DenseKVCache: SubsetAttending {}
