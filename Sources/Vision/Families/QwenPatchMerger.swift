import VLMRuntime

/// Qwen-VL's patch merger: each 2x2 block of patches (in-block row, then column) becomes one
/// token: Qwen2.5-VL normalises each patch (RMSNorm `ln_q`), concatenates the four and runs
/// Linear-GELU-Linear (`merger.mlp.0/2`); Qwen3-VL does the same with a LayerNorm (`merger.norm`,
/// `linear_fc1/2`) and has one more merger per DeepStack level that normalises the
/// concatenation instead (`deepstack_merger_list.N`, use_postshuffle_norm), fed by the
/// encoder's hidden states after DeepStack block N.
struct QwenPatchMerger: PatchConnector {
    struct Stage {
        let normWeight: [Float]
        /// LayerNorm's bias; nil: RMSNorm.
        let normBias: [Float]?
        /// Whether the norm runs over the concatenated block (DeepStack) or each patch.
        let normAfterShuffle: Bool
        let fc1: DenseLinear, fc2: DenseLinear
    }

    let scale: Int
    let main: Stage
    var outputWidth: Int { main.fc2.outFeatures }
    /// DeepStack mergers and the encoder blocks whose outputs they read.
    let deepstack: [(layer: Int, stage: Stage)]
    let eps: Float = 1e-6

    init(checkpoint ck: TensorCheckpoint, prefix: String, config c: QwenVisionConfig) throws {
        scale = c.mergeSize
        let wide = c.hiddenSize * c.mergeSize * c.mergeSize
        func stage(_ p: String, qwen3: Bool, afterShuffle: Bool) throws -> Stage {
            let normName = qwen3 ? p + "norm" : p + "ln_q"
            let width = afterShuffle ? wide : c.hiddenSize
            let weight = try ck.floats(named: normName + ".weight")
            let bias = qwen3 ? try ck.floats(named: normName + ".bias") : nil
            guard weight.count == width, bias.map({ $0.count == width }) ?? true else {
                throw VLMError.badInput("\(ck.directory): '\(normName)' is not \(width) wide")
            }
            let fc1 = try DenseLinear(checkpoint: ck, name: qwen3 ? p + "linear_fc1" : p + "mlp.0", bias: true)
            let fc2 = try DenseLinear(checkpoint: ck, name: qwen3 ? p + "linear_fc2" : p + "mlp.2", bias: true)
            guard fc1.inFeatures == wide, fc2.inFeatures == fc1.outFeatures, fc2.outFeatures == c.outHiddenSize else {
                throw VLMError.badInput("\(ck.directory): the patch merger '\(p)' does not map \(wide) to \(c.outHiddenSize)")
            }
            return Stage(normWeight: weight, normBias: bias, normAfterShuffle: afterShuffle, fc1: fc1, fc2: fc2)
        }
        let qwen3 = c.variant == .qwen3
        main = try stage(prefix + "merger.", qwen3: qwen3, afterShuffle: false)
        deepstack = try c.deepstackLayers.enumerated().map { i, layer in
            (layer, try stage(prefix + "deepstack_merger_list.\(i).", qwen3: true, afterShuffle: true))
        }
    }

    /// A merger of `config`'s shape with random weights, for benchmarks.
    init(random c: QwenVisionConfig, seed: UInt64) throws {
        var random = RandomWeights(seed: seed)
        let wide = c.hiddenSize * c.mergeSize * c.mergeSize, qwen3 = c.variant == .qwen3
        func stage(afterShuffle: Bool) throws -> Stage {
            let width = afterShuffle ? wide : c.hiddenSize
            return Stage(normWeight: [Float](repeating: 1, count: width), normBias: qwen3 ? [Float](repeating: 0, count: width) : nil,
                         normAfterShuffle: afterShuffle,
                         fc1: try random.linear(wide, wide), fc2: try random.linear(c.outHiddenSize, wide))
        }
        scale = c.mergeSize
        main = try stage(afterShuffle: false)
        deepstack = try c.deepstackLayers.map { ($0, try stage(afterShuffle: true)) }
    }

    /// The encoder taps the DeepStack mergers read.
    var taps: [EncoderTap] { deepstack.map { EncoderTap(layer: $0.layer, kind: .hidden) } }

    func merge(_ output: EncoderOutput, patches: [Float], dim: Int) throws -> MergedPatches {
        var companions: [[Float]] = []
        for (layer, stage) in deepstack {
            guard let hidden = output.taps[EncoderTap(layer: layer, kind: .hidden)] else {
                throw VLMError.badInput("the encoder did not return block \(layer)'s output for DeepStack")
            }
            companions.append(try run(stage, hidden, output: output, dim: dim))
        }
        return MergedPatches(rows: try run(main, patches, output: output, dim: dim), companions: companions)
    }

    private func run(_ stage: Stage, _ patches: [Float], output: EncoderOutput, dim d: Int) throws -> [Float] {
        let s = scale, rows = output.gridRows, cols = output.gridCols
        guard rows % s == 0, cols % s == 0, patches.count == rows * cols * d, d * s * s == stage.fc1.inFeatures else {
            throw VLMError.badInput("the patch merger needs a grid divisible by \(s) of \(stage.fc1.inFeatures / (s * s))-wide patches")
        }
        let outRows = rows / s, outCols = cols / s, wide = d * s * s, count = outRows * outCols
        var blocks = [Float](repeating: 0, count: count * wide)
        patches.withUnsafeBufferPointer { x in blocks.withUnsafeMutableBufferPointer { b in
            for r in 0..<outRows { for c in 0..<outCols {
                let out = b.baseAddress! + (r * outCols + c) * wide
                for iy in 0..<s { for ix in 0..<s {
                    (out + (iy * s + ix) * d).update(from: x.baseAddress! + ((r * s + iy) * cols + c * s + ix) * d, count: d)
                }}
            }}
        }}
        let normRows = stage.normAfterShuffle ? count : count * s * s, width = stage.normAfterShuffle ? wide : d
        var normed = blocks
        blocks.withUnsafeBufferPointer { x in normed.withUnsafeMutableBufferPointer { y in
            stage.normWeight.withUnsafeBufferPointer { w in stage.normBias.withOptionalPointer { b in
                Parallel.forRange(normRows, minChunk: 64) { r0, r1 in
                    let xs = x.baseAddress! + r0 * width, ys = y.baseAddress! + r0 * width
                    if stage.normBias == nil {
                        Norms.rmsNorm(xs, ys, rows: r1 - r0, width: width, weight: w.baseAddress!, eps: eps)
                    } else {
                        Norms.layerNorm(xs, ys, rows: r1 - r0, width: width, weight: w.baseAddress!, bias: b, eps: eps)
                    }
                }
            }}
        }}
        var hidden = [Float](repeating: 0, count: count * stage.fc1.outFeatures)
        normed.withUnsafeBufferPointer { x in hidden.withUnsafeMutableBufferPointer {
            stage.fc1.apply(x.baseAddress!, rows: count, into: $0.baseAddress!, activation: .gelu)
        }}
        return stage.fc2(hidden, rows: count)
    }
}
