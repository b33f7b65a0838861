import Prune
import VLMRuntime

/// Time to first token of a VLM of published shapes with random weights, for each reducer and
/// budget against no reduction, in one process: the encoder (with the reducer's taps), the
/// reducer, the projector, prefill of the visual tokens plus a short text, and the first
/// token's logits. Random weights cost the same arithmetic as trained ones.
public final class ReducerBenchmark {
    public let encoder: ViTEncoder
    let projector: MLPProjector
    public let decoder: DecoderModel
    let textTokens: Int

    public struct Timing: Sendable {
        public var encode = 0.0, reduce = 0.0, project = 0.0, prefill = 0.0
        public var visualTokens = 0
        public var total: Double { encode + reduce + project + prefill }
    }

    /// LLaVA-OneVision-0.5B's shapes: SigLIP-so400m at 384 px (729 tokens), a 2-layer GELU
    /// projector 1152 -> 896, Qwen2-0.5B (24 layers, 896 wide, 14 heads, 2 KV heads).
    /// `llmWeights`: how the LLM's matrices are stored, `.f32` or `.q8_0` (as a Q8_0 GGUF holds
    /// them; decoding then reads a quarter of the bytes per token).
    public static func onevision05B(textTokens: Int = 24, llmWeights: GGMLType = .f32) throws -> ReducerBenchmark {
        let vision = ViTConfig.presets["siglip-so400m-384"]!
        var llm = DecoderConfig(family: .qwen2, hiddenSize: 896, layerCount: 24, headCount: 14, kvHeadCount: 2, headDim: 64,
                                intermediateSize: 4864, vocabSize: 151_936, contextLength: 32_768, rmsNormEps: 1e-6,
                                activation: .silu, ropeTheta: 1_000_000, ropeLayout: .splitHalf)
        llm.hasQKVBias = true
        return try ReducerBenchmark(vision: vision, llm: llm, textTokens: textTokens, llmWeights: llmWeights)
    }

    init(vision: ViTConfig, llm c: DecoderConfig, textTokens: Int, llmWeights: GGMLType = .f32) throws {
        guard llmWeights == .f32 || llmWeights == .q8_0 else { throw VLMError.usage("benchmark LLM weights must be f32 or q8_0") }
        encoder = try ViTEncoder.random(vision, seed: 3)
        var rng = SeededGenerator(seed: 5)
        func values(_ n: Int, _ std: Float) -> [Float] { (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * std * 1.7 } }
        func matrix(_ rows: Int, _ cols: Int) -> WeightMatrix {
            llmWeights == .q8_0 ? .q8_0(rows: rows, cols: cols, floats: values(rows * cols, 0.02))
                                : WeightMatrix(rows: rows, cols: cols, floats: values(rows * cols, 0.02))
        }
        projector = MLPProjector(first: try DenseLinear(weight: values(c.hiddenSize * vision.hiddenSize, 0.02), outFeatures: c.hiddenSize,
                                                        inFeatures: vision.hiddenSize, bias: values(c.hiddenSize, 0.02), name: "p1"),
                                 second: try DenseLinear(weight: values(c.hiddenSize * c.hiddenSize, 0.02), outFeatures: c.hiddenSize,
                                                         inFeatures: c.hiddenSize, bias: values(c.hiddenSize, 0.02), name: "p2"),
                                 activation: .gelu)
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim, ones = [Float](repeating: 1, count: c.hiddenSize)
        let layers = (0..<c.layerCount).map { _ -> DecoderLayerWeights in
            var l = DecoderLayerWeights(attentionNorm: ones, query: matrix(q, c.hiddenSize), key: matrix(kv, c.hiddenSize),
                                        value: matrix(kv, c.hiddenSize), output: matrix(c.hiddenSize, q), mlpNorm: ones,
                                        gate: matrix(c.intermediateSize, c.hiddenSize), up: matrix(c.intermediateSize, c.hiddenSize),
                                        down: matrix(c.hiddenSize, c.intermediateSize))
            l.queryBias = values(q, 0.02); l.keyBias = values(kv, 0.02); l.valueBias = values(kv, 0.02)
            return l
        }
        let embedding = matrix(c.vocabSize, c.hiddenSize)
        decoder = try DecoderModel(config: c, weights: DecoderWeights(embedding: embedding, layers: layers, finalNorm: ones, outputHead: embedding))
        self.textTokens = textTokens
    }

    /// One measured time to first token on `pixels` (one encoder image) with `reduction`.
    public func run(_ pixels: PixelBatch, reduction: TokenReduction?) throws -> Timing {
        var timing = Timing()
        let t0 = ProcessStats.now
        let piece = try VisionLanguageModel.encodePiece(pixels, index: 0, encoder: encoder, request: EncoderRequest(featureLayer: -1),
                                                        reduction: reduction, keepsClassToken: false, projector: projector, connector: nil)
        let t1 = ProcessStats.now
        timing.reduce = piece.reduceSeconds
        timing.encode = t1 - t0 - piece.reduceSeconds   // includes the projector, a few ms
        var x = [Float](repeating: 0, count: (piece.count + textTokens) * decoder.config.hiddenSize)
        let text = (0..<textTokens).map { Int32(100 + $0) }
        x.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.update(from: piece.rows, count: piece.rows.count)
        }
        try x.withUnsafeMutableBufferPointer { try decoder.embed(text, into: $0.baseAddress! + piece.rows.count) }
        let cache = decoder.makeCache(.f16, capacity: piece.count + textTokens + 8)
        _ = try decoder.forward(embeddings: &x, rows: piece.count + textTokens, cache: cache, logits: .last)
        timing.prefill = ProcessStats.now - t1
        timing.visualTokens = piece.count
        return timing
    }

    public struct VideoTiming: Sendable {
        public var visualTokens = 0
        public var merge = 0.0, prefill = 0.0, decode = 0.0
        public var generated = 0
        public var kvCacheBytes = 0
        public var recomputations = 0
        public var decodeTokensPerSecond: Double { decode > 0 ? Double(generated) / decode : 0 }
    }

    /// One frame through the encoder and projector, pooled 2x2 as LLaVA-OneVision pools video
    /// frames: the per-frame tokens `runVideo` starts from.
    public func encodeVideoFrame(_ pixels: PixelBatch) throws -> (rows: [Float], side: Int) {
        let piece = try VisionLanguageModel.encodePiece(pixels, index: 0, encoder: encoder, request: EncoderRequest(featureLayer: -1),
                                                        reduction: nil, keepsClassToken: false, projector: projector, connector: nil)
        let pooledSide = (piece.gridRows + 1) / 2
        return (AnyResPacking.bilinearResize(piece.rows, height: piece.gridRows, width: piece.gridCols, dim: decoder.config.hiddenSize,
                                             toHeight: pooledSide, toWidth: pooledSide), pooledSide)
    }

    /// Time to first token (without the encoder, which costs the same with and without DyCoke)
    /// and decode speed over `frames` frames of per-frame tokens `frameTokens` (frame after
    /// frame), with a temporal reducer's two stages (DyCoke's) when `temporal` is given. Greedy
    /// decoding runs exactly `genTokens` steps.
    public func runVideo(frameTokens: [Float], frames: Int, tokensPerFrame n: Int, temporal: (any TemporalTokenReducer)?,
                         genTokens: Int) throws -> VideoTiming {
        let d = decoder.config.hiddenSize
        var t = VideoTiming()
        let t0 = ProcessStats.now
        var visual = frameTokens
        if let temporal { visual = temporal.mergeFrames(frameTokens, frames: frames, tokensPerFrame: n, width: d).rows }
        let count = visual.count / d
        t.visualTokens = count
        let t1 = ProcessStats.now
        t.merge = t1 - t0
        var x = visual + [Float](repeating: 0, count: textTokens * d)
        try x.withUnsafeMutableBufferPointer { try decoder.embed((0..<textTokens).map { Int32(100 + $0) }, into: $0.baseAddress! + count * d) }
        var cache = decoder.makeCache(.f16, capacity: count + textTokens + genTokens + 8)
        var logits = try decoder.forward(embeddings: &x, rows: count + textTokens, cache: cache, logits: .last)
        let t2 = ProcessStats.now
        t.prefill = t2 - t1
        if let temporal, let wrapped = temporal.decodingCache(base: cache, visual: 0..<count, layerCount: decoder.config.layerCount) {
            cache = wrapped
        }
        for _ in 0..<genTokens {
            logits = try decoder.forward(tokens: [Int32(Sampler.argmax(logits))], cache: cache)
        }
        t.decode = ProcessStats.now - t2
        t.generated = genTokens
        t.kvCacheBytes = cache.storedBytes
        t.recomputations = (cache as? any RecomputingKVCache)?.recomputations ?? 0
        return t
    }
}
