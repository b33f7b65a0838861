import VLMRuntime

/// One transformer block's weights, named after their role (not their checkpoint names).
struct ViTLayerWeights: Sendable {
    var norm1Weight: [Float], norm1Bias: [Float]
    /// Q, K and V stacked into one [3*hidden x hidden] matrix: one sgemm instead of three.
    var qkv: DenseLinear
    var out: DenseLinear
    var norm2Weight: [Float], norm2Bias: [Float]
    var fc1: DenseLinear
    var fc2: DenseLinear
    /// DINOv2's per-channel residual scales (nil elsewhere).
    var layerScale1: [Float]?, layerScale2: [Float]?
}

/// A ViT's weights, converted to float32, from a Hugging Face checkpoint.
struct ViTWeights: Sendable {
    /// hidden x (3 * patch * patch), the convolution as a matrix (channel, row, column order).
    var patch: DenseLinear
    var classToken: [Float]?
    /// (class + patches) x hidden.
    var positions: [Float]
    var preNormWeight: [Float]?, preNormBias: [Float]?
    var layers: [ViTLayerWeights]
    /// Absent in llama.cpp's legacy LLaVA mmproj files (LLaVA reads a layer before it).
    var postNormWeight: [Float]?, postNormBias: [Float]?

    init(config c: ViTConfig, checkpoint ck: TensorCheckpoint, prefix p: String) throws {
        let d = c.hiddenSize
        func vector(_ name: String, _ count: Int) throws -> [Float] {
            let v = try ck.floats(named: p + name)
            guard v.count == count else { throw VLMError.badInput("\(ck.directory): \(p + name) has \(v.count) values, expected \(count)") }
            return v
        }
        func linear(_ name: String, out: Int, in k: Int, bias: Bool = true) throws -> DenseLinear {
            let l = try DenseLinear(checkpoint: ck, name: p + name, bias: bias)
            guard l.outFeatures == out, l.inFeatures == k else { throw VLMError.badInput("\(ck.directory): \(p + name) is \(l.outFeatures)x\(l.inFeatures), expected \(out)x\(k)") }
            return l
        }
        let patchInputs = 3 * c.patchSize * c.patchSize
        let patchCount = c.patchesPerSide * c.patchesPerSide
        let tokenCount = patchCount + (c.hasClassToken ? 1 : 0)
        if c.family == .dinov2 {
            patch = try DenseLinear(weight: try vector("embeddings.patch_embeddings.projection.weight", d * patchInputs),
                                    outFeatures: d, inFeatures: patchInputs,
                                    bias: try vector("embeddings.patch_embeddings.projection.bias", d), name: p + "patch")
            classToken = try vector("embeddings.cls_token", d)
            positions = try vector("embeddings.position_embeddings", tokenCount * d)
            preNormWeight = nil; preNormBias = nil
            layers = try (0..<c.layerCount).map { i in
                let l = "encoder.layer.\(i)."
                let q = try linear(l + "attention.attention.query", out: d, in: d)
                let k = try linear(l + "attention.attention.key", out: d, in: d)
                let v = try linear(l + "attention.attention.value", out: d, in: d)
                return ViTLayerWeights(
                    norm1Weight: try vector(l + "norm1.weight", d), norm1Bias: try vector(l + "norm1.bias", d),
                    qkv: try Self.stack(q, k, v), out: try linear(l + "attention.output.dense", out: d, in: d),
                    norm2Weight: try vector(l + "norm2.weight", d), norm2Bias: try vector(l + "norm2.bias", d),
                    fc1: try linear(l + "mlp.fc1", out: c.intermediateSize, in: d), fc2: try linear(l + "mlp.fc2", out: d, in: c.intermediateSize),
                    layerScale1: try vector(l + "layer_scale1.lambda1", d), layerScale2: try vector(l + "layer_scale2.lambda1", d))
            }
            postNormWeight = try vector("layernorm.weight", d); postNormBias = try vector("layernorm.bias", d)
            return
        }
        patch = try DenseLinear(weight: try vector("embeddings.patch_embedding.weight", d * patchInputs), outFeatures: d,
                                inFeatures: patchInputs,
                                bias: c.family == .clip ? nil : try vector("embeddings.patch_embedding.bias", d), name: p + "patch")
        classToken = c.hasClassToken ? try vector("embeddings.class_embedding", d) : nil
        positions = try vector("embeddings.position_embedding.weight", tokenCount * d)
        if c.family == .clip {
            preNormWeight = try vector("pre_layrnorm.weight", d); preNormBias = try vector("pre_layrnorm.bias", d)
        } else {
            preNormWeight = nil; preNormBias = nil
        }
        layers = try (0..<c.layerCount).map { i in
            let l = "encoder.layers.\(i)."
            let q = try linear(l + "self_attn.q_proj", out: d, in: d)
            let k = try linear(l + "self_attn.k_proj", out: d, in: d)
            let v = try linear(l + "self_attn.v_proj", out: d, in: d)
            return ViTLayerWeights(
                norm1Weight: try vector(l + "layer_norm1.weight", d), norm1Bias: try vector(l + "layer_norm1.bias", d),
                qkv: try Self.stack(q, k, v), out: try linear(l + "self_attn.out_proj", out: d, in: d),
                norm2Weight: try vector(l + "layer_norm2.weight", d), norm2Bias: try vector(l + "layer_norm2.bias", d),
                fc1: try linear(l + "mlp.fc1", out: c.intermediateSize, in: d), fc2: try linear(l + "mlp.fc2", out: d, in: c.intermediateSize),
                layerScale1: nil, layerScale2: nil)
        }
        if ck.contains(p + "post_layernorm.weight") || c.family != .clip {
            postNormWeight = try vector("post_layernorm.weight", d); postNormBias = try vector("post_layernorm.bias", d)
        }
    }

    static func stack(_ q: DenseLinear, _ k: DenseLinear, _ v: DenseLinear) throws -> DenseLinear {
        let bias: [Float]? = q.bias.map { $0 + k.bias! + v.bias! }
        return try DenseLinear(weight: q.weight + k.weight + v.weight, outFeatures: 3 * q.outFeatures, inFeatures: q.inFeatures,
                               bias: bias, name: "qkv")
    }
}

extension ViTWeights {
    /// Random weights of the config's shape (std 0.02, norms at 1): for speed measurements only.
    init(random c: ViTConfig, seed: UInt64) throws {
        var random = RandomWeights(seed: seed)
        func values(_ n: Int) -> [Float] { random.values(n) }
        func linear(_ out: Int, _ inp: Int) throws -> DenseLinear { try random.linear(out, inp) }
        let d = c.hiddenSize, ones = [Float](repeating: 1, count: d), zeros = [Float](repeating: 0, count: d)
        let tokens = c.patchesPerSide * c.patchesPerSide + (c.hasClassToken ? 1 : 0)
        patch = try linear(d, 3 * c.patchSize * c.patchSize)
        classToken = c.hasClassToken ? values(d) : nil
        positions = values(tokens * d)
        preNormWeight = c.family == .clip ? ones : nil; preNormBias = c.family == .clip ? zeros : nil
        layers = try (0..<c.layerCount).map { _ in
            ViTLayerWeights(norm1Weight: ones, norm1Bias: zeros, qkv: try linear(3 * d, d), out: try linear(d, d),
                            norm2Weight: ones, norm2Bias: zeros, fc1: try linear(c.intermediateSize, d), fc2: try linear(d, c.intermediateSize),
                            layerScale1: c.family == .dinov2 ? ones : nil, layerScale2: c.family == .dinov2 ? ones : nil)
        }
        postNormWeight = ones; postNormBias = zeros
    }
}
