import Prune
import VLMRuntime

/// Time to first token of a VLM of published shapes with random weights, for each reducer and
/// budget against no reduction, in one process: the encoder (with the reducer's taps), the
/// reducer, the projector, prefill of the visual tokens plus a short text, and the first
/// token's logits. Random weights cost the same arithmetic as trained ones.
public final class ReducerBenchmark {
    public let encoder: any VisionEncoder
    let projector: MLPProjector?
    /// Qwen-VL's patch merger: reducers then work on the merged tokens (the LLM's).
    let connector: (any PatchConnector)?
    public let decoder: DecoderModel
    let textTokens: Int
    /// The image each run encodes, in pixels.
    public let imageHeight: Int, imageWidth: Int

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
        var random = RandomWeights(seed: 5)
        let projector = MLPProjector(first: try random.linear(llm.hiddenSize, vision.hiddenSize),
                                     second: try random.linear(llm.hiddenSize, llm.hiddenSize), activation: .gelu)
        return ReducerBenchmark(encoder: try ViTEncoder.random(vision, seed: 3), projector: projector, connector: nil,
                                decoder: try randomDecoder(llm, weights: llmWeights), textTokens: textTokens,
                                imageHeight: vision.imageSize, imageWidth: vision.imageSize)
    }

    /// Qwen2.5-VL-3B's shapes: its windowed ViT (32 blocks, 1280 wide) on a 1,280x720 image
    /// smart-resized to 1,288x728 (92x52 patches, 1,196 merged tokens), the 2x2 patch merger to
    /// 2048, and its Qwen2.5 LLM (36 layers, 2048 wide, 16 heads, 2 KV heads, head_dim 128,
    /// intermediate 11008, tied embeddings) with multimodal RoPE: visual tokens sit at their
    /// rows and columns, as the family places them.
    public static func qwen25VL3B(textTokens: Int = 24, llmWeights: GGMLType = .f32) throws -> ReducerBenchmark {
        let preset = QwenVisionConfig.presets["qwen2.5-vl-3b-720p"]!, vision = preset.config
        let (h, w) = try QwenVLProcessor.smartResize(height: preset.height, width: preset.width, factor: vision.patchSize * vision.mergeSize,
                                                     minPixels: 1, maxPixels: 1 << 30)
        var llm = DecoderConfig(family: .qwen2, hiddenSize: 2048, layerCount: 36, headCount: 16, kvHeadCount: 2, headDim: 128,
                                intermediateSize: 11008, vocabSize: 151_936, contextLength: 128_000, rmsNormEps: 1e-6,
                                activation: .silu, ropeTheta: 1_000_000, ropeLayout: .splitHalf)
        llm.hasQKVBias = true
        llm.mropeAxes = MultimodalRoPE.contiguousAxes(sections: [16, 24, 24])
        return ReducerBenchmark(encoder: try QwenVisionTower.random(vision, seed: 3), projector: nil,
                                connector: try QwenPatchMerger(random: vision, seed: 4),
                                decoder: try randomDecoder(llm, weights: llmWeights), textTokens: textTokens, imageHeight: h, imageWidth: w)
    }

    init(encoder: any VisionEncoder, projector: MLPProjector?, connector: (any PatchConnector)?, decoder: DecoderModel, textTokens: Int,
         imageHeight: Int, imageWidth: Int) {
        self.encoder = encoder; self.projector = projector; self.connector = connector; self.decoder = decoder
        self.textTokens = textTokens; self.imageHeight = imageHeight; self.imageWidth = imageWidth
    }

    /// A decoder of shape `c` with random weights stored as `weights` (f32 or q8_0) and the
    /// embedding tied to the output head.
    static func randomDecoder(_ c: DecoderConfig, weights llmWeights: GGMLType) throws -> DecoderModel {
        guard llmWeights == .f32 || llmWeights == .q8_0 else { throw VLMError.usage("benchmark LLM weights must be f32 or q8_0") }
        var random = RandomWeights(seed: 6)
        func values(_ n: Int) -> [Float] { random.values(n) }
        func matrix(_ rows: Int, _ cols: Int) -> WeightMatrix {
            llmWeights == .q8_0 ? .q8_0(rows: rows, cols: cols, floats: values(rows * cols))
                                : WeightMatrix(rows: rows, cols: cols, floats: values(rows * cols))
        }
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim, ones = [Float](repeating: 1, count: c.hiddenSize)
        let layers = (0..<c.layerCount).map { _ -> DecoderLayerWeights in
            var l = DecoderLayerWeights(attentionNorm: ones, query: matrix(q, c.hiddenSize), key: matrix(kv, c.hiddenSize),
                                        value: matrix(kv, c.hiddenSize), output: matrix(c.hiddenSize, q), mlpNorm: ones,
                                        gate: matrix(c.intermediateSize, c.hiddenSize), up: matrix(c.intermediateSize, c.hiddenSize),
                                        down: matrix(c.hiddenSize, c.intermediateSize))
            if c.hasQKVBias { l.queryBias = values(q); l.keyBias = values(kv); l.valueBias = values(kv) }
            return l
        }
        let embedding = matrix(c.vocabSize, c.hiddenSize)
        return try DecoderModel(config: c, weights: DecoderWeights(embedding: embedding, layers: layers, finalNorm: ones, outputHead: embedding))
    }

    /// One measured time to first token on `pixels` (one encoder image) with `reduction`.
    public func run(_ pixels: PixelBatch, reduction: TokenReduction?) throws -> Timing {
        var timing = Timing()
        let t0 = ProcessStats.now
        let piece = try VisionLanguageModel.encodePiece(pixels, index: 0, encoder: encoder, request: EncoderRequest(featureLayer: -1),
                                                        reduction: reduction, keepsClassToken: false, projector: projector, connector: connector)
        let t1 = ProcessStats.now
        timing.reduce = piece.reduceSeconds
        timing.encode = t1 - t0 - piece.reduceSeconds   // includes the projector or merger
        let text = (0..<textTokens).map { Int32(100 + $0) }
        var rows = piece.rows, positions: TokenPositions?
        if decoder.config.mropeAxes != nil {   // Qwen-VL: the family's raster order and 3-D positions
            let (sorted, _, kept) = Qwen2_5_VLFamily.rasterOrder(piece, width: decoder.config.hiddenSize)
            var image = ImageEmbedding(rows: sorted, count: kept.count, tileCounts: [kept.count], layout: .single, visualBefore: piece.fullCount)
            image.positionRuns = [Qwen2_5_VLFamily.run(kept, gridCols: piece.gridCols, advance: max(piece.gridRows, piece.gridCols))]
            rows = sorted
            positions = try PromptPositions.build(ids: [Int32](repeating: 1, count: kept.count) + text, imageToken: 1, videoToken: nil, media: [image])
        }
        var x = [Float](repeating: 0, count: (piece.count + textTokens) * decoder.config.hiddenSize)
        x.withUnsafeMutableBufferPointer { b in b.baseAddress!.update(from: rows, count: rows.count) }
        try x.withUnsafeMutableBufferPointer { try decoder.embed(text, into: $0.baseAddress! + rows.count) }
        let cache = decoder.makeCache(.f16, capacity: piece.count + textTokens + 8)
        _ = try decoder.forward(embeddings: &x, rows: piece.count + textTokens, cache: cache, logits: .last, positions: positions)
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
