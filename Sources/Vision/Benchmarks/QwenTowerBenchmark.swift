import VLMRuntime

/// Qwen-VL's vision side for `vlm bench-encoder`: a tower and its patch mergers of published
/// shapes with random weights, timed over the same work as transformers' vision model
/// (`Qwen2_5_VisionTransformerPretrainedModel`, `Qwen3VLVisionModel`): patch embedding through
/// the last block, then the merger to LLM width (and Qwen3-VL's DeepStack mergers).
public struct QwenTowerBenchmark {
    public let config: QwenVisionConfig
    let tower: QwenVisionTower
    let merger: QwenPatchMerger

    public init(_ config: QwenVisionConfig) throws {
        self.config = config
        tower = try QwenVisionTower.random(config)
        merger = try QwenPatchMerger(random: config, seed: 2)
    }

    /// One encode of `pixels` (one frame-group); returns the number of merged tokens.
    @discardableResult
    public func run(_ pixels: PixelBatch) throws -> Int {
        let output = try tower.encode(pixels, index: 0, request: EncoderRequest(featureLayer: -1, taps: merger.taps))
        return try merger.merge(output, patches: output.features, dim: output.hiddenSize).rows.count / config.outHiddenSize
    }

    /// GFLOP of the mergers for `tokens` patches: each merger maps 4 patches (4d wide) through
    /// 4d -> 4d -> out.
    public func mergerGFLOP(patches tokens: Int) -> Double {
        let merged = Double(tokens / (config.mergeSize * config.mergeSize))
        let wide = Double(config.hiddenSize * config.mergeSize * config.mergeSize), out = Double(config.outHiddenSize)
        return Double(1 + config.deepstackLayers.count) * 2 * merged * (wide * wide + wide * out) / 1e9
    }
}
