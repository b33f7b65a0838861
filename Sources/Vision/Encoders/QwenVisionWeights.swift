import VLMRuntime

/// The Qwen vision towers' float32 weights, by transformers' names under the tower's prefix
/// (`model.visual.` in transformers 5, `visual.` in 4). The patch merger's weights are the
/// family's (QwenPatchMerger).
struct QwenVisionWeights: @unchecked Sendable {
    struct Norm {
        let weight: [Float]
        /// LayerNorm's bias (Qwen3-VL); nil: RMSNorm (Qwen2.5-VL).
        let bias: [Float]?
    }
    struct Block {
        let norm1: Norm, norm2: Norm
        let qkv: DenseLinear, proj: DenseLinear
        /// Qwen2.5-VL: gate, up and down projections; Qwen3-VL: linear_fc1 and linear_fc2.
        let fc1: DenseLinear, up: DenseLinear?, fc2: DenseLinear
    }

    /// hidden x (3 * temporal * patch * patch): the Conv3d kernel flattened in (c, t, y, x) order.
    let patch: DenseLinear
    /// Qwen3-VL's learned positions, num_position_embeddings x hidden.
    let positionTable: [Float]?
    let blocks: [Block]

    init(config c: QwenVisionConfig, checkpoint ck: TensorCheckpoint, prefix: String) throws {
        let d = c.hiddenSize
        func tensor(_ name: String, shape: [Int]) throws -> [Float] {
            guard let info = ck.info(named: prefix + name) else { throw VLMError.badInput("\(ck.directory): missing tensor '\(prefix + name)'") }
            guard info.shape == shape else {
                throw VLMError.badInput("\(ck.directory): tensor '\(prefix + name)' has shape \(info.shape), the config implies \(shape)")
            }
            return try ck.floats(named: prefix + name)
        }
        func linear(_ name: String, out: Int, in inFeatures: Int, bias: Bool = true) throws -> DenseLinear {
            try DenseLinear(weight: try tensor(name + ".weight", shape: [out, inFeatures]), outFeatures: out, inFeatures: inFeatures,
                            bias: bias ? try tensor(name + ".bias", shape: [out]) : nil, name: prefix + name)
        }
        let qwen3 = c.variant == .qwen3
        func norm(_ name: String) throws -> Norm {
            Norm(weight: try tensor(name + ".weight", shape: [d]), bias: qwen3 ? try tensor(name + ".bias", shape: [d]) : nil)
        }
        let kernel = [d, 3, c.temporalPatchSize, c.patchSize, c.patchSize]
        patch = try DenseLinear(weight: try tensor("patch_embed.proj.weight", shape: kernel), outFeatures: d, inFeatures: c.patchValues,
                                bias: qwen3 ? try tensor("patch_embed.proj.bias", shape: [d]) : nil, name: prefix + "patch_embed.proj")
        positionTable = qwen3 ? try tensor("pos_embed.weight", shape: [c.positionEmbeddings, d]) : nil
        blocks = try (0..<c.layerCount).map { i in
            let b = "blocks.\(i)."
            let mlp = qwen3
                ? (fc1: try linear(b + "mlp.linear_fc1", out: c.intermediateSize, in: d), up: nil,
                   fc2: try linear(b + "mlp.linear_fc2", out: d, in: c.intermediateSize))
                : (fc1: try linear(b + "mlp.gate_proj", out: c.intermediateSize, in: d),
                   up: try linear(b + "mlp.up_proj", out: c.intermediateSize, in: d) as DenseLinear?,
                   fc2: try linear(b + "mlp.down_proj", out: d, in: c.intermediateSize))
            return Block(norm1: try norm(b + "norm1"), norm2: try norm(b + "norm2"),
                         qkv: try linear(b + "attn.qkv", out: 3 * d, in: d), proj: try linear(b + "attn.proj", out: d, in: d),
                         fc1: mlp.fc1, up: mlp.up, fc2: mlp.fc2)
        }
    }

    /// Qwen3-VL's position table resampled to a rows x cols patch grid: bilinear with aligned
    /// corners, row index y * (side - 1) / (rows - 1), the four neighbours weighted in float32
    /// (transformers' `get_vision_interpolation_indices_and_weights`). Raster order.
    static func interpolatedPositions(_ table: [Float], side: Int, dim d: Int, rows: Int, cols: Int) -> [Float] {
        func axis(_ n: Int) -> [(Int, Int, Float)] {
            (0..<n).map { i in
                let pos: Float = n > 1 ? Float(i) * Float(side - 1) / Float(n - 1) : 0
                let lo = min(Int(pos), side - 1), hi = min(lo + 1, side - 1)
                return (lo, hi, pos - Float(lo))
            }
        }
        let ys = axis(rows), xs = axis(cols)
        var out = [Float](repeating: 0, count: rows * cols * d)
        for (r, (y0, y1, dy)) in ys.enumerated() { for (cI, (x0, x1, dx)) in xs.enumerated() {
            let w00 = (1 - dy) * (1 - dx), w01 = (1 - dy) * dx, w10 = dy * (1 - dx), w11 = dy * dx
            let o = (r * cols + cI) * d
            let a = (y0 * side + x0) * d, b = (y0 * side + x1) * d, e = (y1 * side + x0) * d, f = (y1 * side + x1) * d
            for j in 0..<d { out[o + j] = table[a + j] * w00 + table[b + j] * w01 + table[e + j] * w10 + table[f + j] * w11 }
        }}
        return out
    }
}

extension QwenVisionWeights {
    /// Random weights of `config`'s shape, for benchmarks (the arithmetic is what is measured).
    init(random c: QwenVisionConfig, seed: UInt64) throws {
        var random = RandomWeights(seed: seed)
        func values(_ n: Int) -> [Float] { random.values(n) }
        func linear(_ out: Int, _ inp: Int) throws -> DenseLinear { try random.linear(out, inp) }
        let d = c.hiddenSize, qwen3 = c.variant == .qwen3
        func norm() -> Norm { Norm(weight: [Float](repeating: 1, count: d), bias: qwen3 ? [Float](repeating: 0, count: d) : nil) }
        patch = try linear(d, c.patchValues)
        positionTable = qwen3 ? values(c.positionEmbeddings * d) : nil
        blocks = try (0..<c.layerCount).map { _ in
            Block(norm1: norm(), norm2: norm(), qkv: try linear(3 * d, d), proj: try linear(d, d),
                  fc1: try linear(c.intermediateSize, d), up: qwen3 ? nil : try linear(c.intermediateSize, d),
                  fc2: try linear(d, c.intermediateSize))
        }
    }
}

extension QwenVisionTower {
    /// A tower of `config`'s shape with random weights, for benchmarks.
    public static func random(_ config: QwenVisionConfig, seed: UInt64 = 1) throws -> QwenVisionTower {
        QwenVisionTower(config: config, weights: try QwenVisionWeights(random: config, seed: seed))
    }
}

extension QwenVisionConfig {
    /// Published towers by name (`vlm bench-encoder`): Qwen2.5-VL-3B's and Qwen3-VL-2B's
    /// vision_config (../shared/MODEL-FAMILIES.md §1.1), with the input size the shape is timed at.
    public static let presets: [String: (config: QwenVisionConfig, width: Int, height: Int)] = {
        func make(_ json: [String: Any], _ variant: Variant) -> QwenVisionConfig { try! QwenVisionConfig(json: json, variant: variant, source: "preset") }
        let qwen25: [String: Any] = ["depth": 32, "hidden_size": 1280, "intermediate_size": 3420, "num_heads": 16, "hidden_act": "silu",
                                     "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
                                     "fullatt_block_indexes": [7, 15, 23, 31], "out_hidden_size": 2048]
        let qwen3: [String: Any] = ["depth": 24, "hidden_size": 1024, "intermediate_size": 4096, "num_heads": 16,
                                    "hidden_act": "gelu_pytorch_tanh", "patch_size": 16, "spatial_merge_size": 2, "temporal_patch_size": 2,
                                    "num_position_embeddings": 2304, "out_hidden_size": 2048, "deepstack_visual_indexes": [5, 11, 17]]
        return ["qwen2.5-vl-3b-720p": (make(qwen25, .qwen2_5), 1280, 720), "qwen3-vl-2b-720p": (make(qwen3, .qwen3), 1280, 720)]
    }()
}
