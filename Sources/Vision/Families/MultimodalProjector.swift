import VLMRuntime

/// LLaVA's projector: linear -> activation -> linear, from vision width to LLM width
/// (`multi_modal_projector.linear_1/linear_2`).
struct MLPProjector {
    let first: DenseLinear
    let second: DenseLinear
    let activation: Activation

    init(checkpoint: TensorCheckpoint, prefix: String, activation: Activation, bias: Bool) throws {
        first = try DenseLinear(checkpoint: checkpoint, name: prefix + "linear_1", bias: bias)
        second = try DenseLinear(checkpoint: checkpoint, name: prefix + "linear_2", bias: bias)
        self.activation = activation
        guard first.outFeatures == second.inFeatures else { throw VLMError.badInput("\(prefix)linear_1/linear_2 widths differ") }
    }

    init(first: DenseLinear, second: DenseLinear, activation: Activation) {
        self.first = first; self.second = second; self.activation = activation
    }

    var inFeatures: Int { first.inFeatures }
    var outFeatures: Int { second.outFeatures }

    func callAsFunction(_ x: [Float], rows: Int) -> [Float] {
        var h = first(x, rows: rows)
        h.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
        return second(h, rows: rows)
    }
}

/// Idefics3 / SmolVLM connector: pixel shuffle (space-to-depth by `scale` on the square patch
/// grid, `scale^2` fewer tokens, `scale^2` times wider), then one linear layer without bias.
struct PixelShuffleConnector {
    let projection: DenseLinear
    let scale: Int

    init(checkpoint: TensorCheckpoint, prefix: String, scale: Int) throws {
        projection = try DenseLinear(checkpoint: checkpoint, name: prefix + "modality_projection.proj", bias: false)
        self.scale = scale
    }

    /// `tokens` square-grid rows of width `dim` -> tokens / scale^2 rows of the LLM width.
    func callAsFunction(_ x: [Float], tokens: Int, dim: Int) throws -> [Float] {
        let side = Int(Double(tokens).squareRoot().rounded())
        guard side * side == tokens, side % scale == 0, dim * scale * scale == projection.inFeatures else {
            throw VLMError.badInput("pixel shuffle needs a square grid divisible by \(scale) (got \(tokens) tokens of width \(dim))")
        }
        return projection(Self.pixelShuffle(x, side: side, dim: dim, scale: scale), rows: tokens / (scale * scale))
    }

    /// transformers' `pixel_shuffle`: output token (R, C) is the concatenation, for k2 then k in
    /// 0..<scale, of input token (R*scale + k2, C*scale + k).
    static func pixelShuffle(_ x: [Float], side: Int, dim: Int, scale s: Int) -> [Float] {
        let outSide = side / s
        var y = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in
            for r in 0..<outSide { for c in 0..<outSide {
                let out = yb.baseAddress! + (r * outSide + c) * dim * s * s
                for k2 in 0..<s { for k in 0..<s {
                    let src = xb.baseAddress! + ((r * s + k2) * side + c * s + k) * dim
                    (out + (k2 * s + k) * dim).update(from: src, count: dim)
                }}
            }}
        }}
        return y
    }
}
