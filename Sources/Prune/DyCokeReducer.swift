import VLMRuntime

/// DyCoke, stage 1: temporal token merging across video frames, before the LLM
/// (Tao et al., CVPR 2025; ../shared/REDUCERS.md).
///
/// Frames are taken in windows of 4, [a, a+1, a+2, a+3]. Frame a is kept whole. Frame a+1
/// keeps only the k' = floor((1 - K) * n) tokens least similar (cosine, same token index) to
/// frame a; frame a+2 likewise against frame a; frame a+3 against frame a+2 (its full,
/// unpruned tokens). What is dropped is what the earlier frame already shows, so the merged
/// sequence keeps the first view of everything plus whatever changed.
///
/// Unlike the published code, a last window shorter than 4 is processed by the same rule (the
/// reference drops an odd last frame and leaves the last window's third frame unpruned).
/// Kept tokens stay in frame order and, within a frame, in raster order.
///
/// Stage 2 (dynamic pruning of the KV cache during decoding) lives with the decoder; its
/// options (`dycoke_l`, `dycoke_p`, `threshold`) are parsed here so one `--reducer dycoke`
/// configures both.
public struct DyCokeReducer: TemporalTokenReducer, RegisteredReducer {
    /// K: the fraction of a pruned frame's tokens that is dropped (default 0.7).
    public var mergeRatio: Double
    /// Stage 2: the layer from which decoding attends to the keep set only.
    public var pruneLayer: Int
    /// Stage 2: the fraction of visual tokens dropped from the keep set (default 0.7).
    public var pruneRatio: Double
    /// Stage 2: recompute the keep set when the attention vector's cosine similarity to the
    /// previous step's falls below this.
    public var threshold: Double

    public init(mergeRatio: Double = 0.7, pruneLayer: Int = 3, pruneRatio: Double = 0.7, threshold: Double = 0.9) {
        self.mergeRatio = mergeRatio; self.pruneLayer = pruneLayer; self.pruneRatio = pruneRatio; self.threshold = threshold
    }

    public static let reducerName = "dycoke"
    public static let optionNames = ["dycoke_k", "dycoke_l", "dycoke_p", "threshold"]
    public static let sizesItself = true
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer {
        func fraction(_ key: String, _ fallback: Double) throws -> Double {
            try options.double(key, expected: "in [0, 1)") { $0 >= 0 && $0 < 1 } ?? fallback
        }
        return DyCokeReducer(mergeRatio: try fraction("dycoke_k", 0.7), pruneLayer: try options.int("dycoke_l", in: 1...1000) ?? 3,
                             pruneRatio: try fraction("dycoke_p", 0.7), threshold: try fraction("threshold", 0.9))
    }

    public func mergeFrames(_ rows: [Float], frames: Int, tokensPerFrame: Int, width: Int) -> (rows: [Float], kept: [[Int]]) {
        mergeRows(rows, frames: frames, tokensPerFrame: tokensPerFrame, width: width)
    }

    /// Stage 2: decoding attends to a dynamic keep set of the visual tokens from `pruneLayer`
    /// on (clamped to the decoder's last layer); dense caches only (nil otherwise).
    public func decodingCache(base: KVCache, visual: Range<Int>, layerCount: Int) -> KVCache? {
        DyCokeKVCache(base: base, visual: visual, layer: min(pruneLayer, layerCount - 1), pruneRatio: pruneRatio, threshold: threshold)
    }

    /// Tokens a pruned frame keeps out of `n`.
    public func keptPerPrunedFrame(_ n: Int) -> Int { DyCokeKVCache.keptCount(n, dropping: mergeRatio) }

    /// Visual tokens after merging `frames` frames of `n` tokens: whole window heads plus pruned others.
    public func mergedCount(frames: Int, tokensPerFrame n: Int) -> Int {
        let whole = (frames + 3) / 4
        return whole * n + (frames - whole) * keptPerPrunedFrame(n)
    }

    /// The kept token indices of each frame (ascending), for `frames` frames of `n` tokens of
    /// `width` floats stored frame after frame in `tokens`.
    public func merge(_ tokens: [Float], frames: Int, tokensPerFrame n: Int, width d: Int) -> [[Int]] {
        precondition(tokens.count == frames * n * d, "dycoke: \(tokens.count) floats for \(frames) frames of \(n) x \(d)")
        let k = keptPerPrunedFrame(n)
        var kept: [[Int]] = []   // one short index list per frame: a handful of frames, not per element
        kept.reserveCapacity(frames)
        for f in 0..<frames {
            let offset = f % 4
            guard offset != 0 else { kept.append(Array(0..<n)); continue }
            let reference = offset == 3 ? f - 1 : f - offset   // a+1, a+2 against a; a+3 against a+2
            let similarity = Self.cosineSimilarities(tokens, frame: f, against: reference, tokensPerFrame: n, width: d)
            // The k least similar tokens; ties broken by index so that the choice is deterministic.
            let order = (0..<n).sorted { similarity[$0] != similarity[$1] ? similarity[$0] < similarity[$1] : $0 < $1 }
            kept.append(order.prefix(k).sorted())
        }
        return kept
    }

    /// The merged sequence itself: the kept rows in frame order, and each frame's kept indices.
    public func mergeRows(_ tokens: [Float], frames: Int, tokensPerFrame n: Int, width d: Int) -> (rows: [Float], kept: [[Int]]) {
        let kept = merge(tokens, frames: frames, tokensPerFrame: n, width: d)
        var rows: [Float] = []
        rows.reserveCapacity(kept.reduce(0) { $0 + $1.count } * d)
        tokens.withUnsafeBufferPointer { src in
            for (f, indices) in kept.enumerated() {
                for t in indices { rows += src[((f * n + t) * d)..<((f * n + t + 1) * d)] }
            }
        }
        return (rows, kept)
    }

    /// Per-token cosine similarity between two frames (same token index).
    static func cosineSimilarities(_ x: [Float], frame a: Int, against b: Int, tokensPerFrame n: Int, width d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n)
        x.withUnsafeBufferPointer { p in
            for t in 0..<n {
                let u = p.baseAddress! + (a * n + t) * d, v = p.baseAddress! + (b * n + t) * d
                var dot: Float = 0, nu: Float = 0, nv: Float = 0
                for i in 0..<d { dot += u[i] * v[i]; nu += u[i] * u[i]; nv += v[i] * v[i] }
                // torch's cosine_similarity clamps each norm at eps = 1e-8.
                out[t] = dot / (max(nu.squareRoot(), 1e-8) * max(nv.squareRoot(), 1e-8))
            }
        }
        return out
    }
}
