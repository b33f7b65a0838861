import Foundation

/// Builds a `DecoderModel` from a Hugging Face checkpoint directory (`config.json` plus
/// safetensors), reading `model_type` to pick the family and transformers' tensor names.
/// Weights stay memory-mapped in their stored dtype (F32, F16 or BF16).
public enum HFDecoderLoader {
    public static func load(directory: String) throws -> DecoderModel {
        let config = try loadConfig(directory: directory)
        let checkpoint = try TensorCheckpoint(directory: directory)
        return try load(config: config, checkpoint: checkpoint, prefix: "model.")
    }

    /// Reads `config.json` (or, for a VLM, its `text_config`) into a `DecoderConfig`.
    public static func loadConfig(directory: String) throws -> DecoderConfig {
        let path = directory + "/config.json"
        guard let data = (try SmallFile.read(path)),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw VLMError.badInput("\(path): missing or not a JSON object") }
        return try config(fromJSON: json, source: path)
    }

    public static func config(fromJSON j: [String: Any], source: String) throws -> DecoderConfig {
        func int(_ k: String) throws -> Int {
            guard let v = (j[k] as? NSNumber)?.intValue else { throw VLMError.badInput("\(source): missing integer '\(k)'") }
            return v
        }
        func optInt(_ k: String) -> Int? { (j[k] as? NSNumber)?.intValue }
        func optFloat(_ k: String) -> Float? { (j[k] as? NSNumber)?.floatValue }
        func optBool(_ k: String) -> Bool? { j[k] as? Bool }
        let modelType = j["model_type"] as? String ?? ""
        let family: DecoderConfig.Family
        switch modelType {
        case "llama", "mistral": family = .llama
        case "qwen2", "qwen2_vl", "qwen2_vl_text", "qwen2_5_vl", "qwen2_5_vl_text": family = .qwen2
        case "qwen3", "qwen3_vl", "qwen3_vl_text": family = .qwen3
        case "gemma3_text", "gemma3": family = .gemma3
        default: throw VLMError.unsupported("\(source): model_type '\(modelType)' (supported: llama, qwen2, qwen2_5_vl_text, qwen3, qwen3_vl_text, gemma3_text)")
        }
        let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
        guard heads > 0 else { throw VLMError.badInput("\(source): num_attention_heads is 0") }
        let ropeParameters = (j["rope_parameters"] as? [String: Any]) ?? (j["rope_scaling"] as? [String: Any])
        // transformers 5 nests RoPE settings per layer type for Gemma 3, flat for the others.
        func ropeTheta(_ layerType: String?) -> Float? {
            if let layerType, let nested = ropeParameters?[layerType] as? [String: Any] {
                return (nested["rope_theta"] as? NSNumber)?.floatValue
            }
            return (ropeParameters?["rope_theta"] as? NSNumber)?.floatValue ?? optFloat("rope_theta")
        }
        let activationName = (j["hidden_act"] as? String) ?? (j["hidden_activation"] as? String) ?? "silu"
        guard let activation = Activation(huggingFaceName: activationName) else {
            throw VLMError.unsupported("\(source): activation '\(activationName)'")
        }
        var c = DecoderConfig(
            family: family, hiddenSize: hidden, layerCount: try int("num_hidden_layers"), headCount: heads,
            kvHeadCount: optInt("num_key_value_heads") ?? heads, headDim: optInt("head_dim") ?? hidden / heads,
            intermediateSize: try int("intermediate_size"), vocabSize: try int("vocab_size"),
            contextLength: optInt("max_position_embeddings") ?? 4096,
            rmsNormEps: optFloat("rms_norm_eps") ?? 1e-6, activation: activation,
            ropeTheta: ropeTheta(family == .gemma3 ? "full_attention" : nil) ?? (family == .gemma3 ? 1_000_000 : 10000),
            ropeLayout: .splitHalf)
        // Gemma 3's linear scaling (factor 8 on gemma-3-4b and up) is on the global layers' RoPE,
        // nested under "full_attention" in transformers 5; the sliding layers' RoPE is unscaled.
        let scaledRope = family == .gemma3 ? (ropeParameters?["full_attention"] as? [String: Any] ?? ropeParameters) : ropeParameters
        if let type = scaledRope?["rope_type"] as? String ?? scaledRope?["type"] as? String, type == "linear",
           let factor = (scaledRope?["factor"] as? NSNumber)?.floatValue {
            c.ropeScaling = factor
        }
        if let sections = (ropeParameters?["mrope_section"] as? [NSNumber])?.map(\.intValue) {
            guard sections.allSatisfy({ $0 >= 0 }), sections.reduce(0, +) == c.headDim / 2 else {
                throw VLMError.badInput("\(source): mrope_section \(sections) does not sum to head_dim / 2 = \(c.headDim / 2)")
            }
            c.mropeAxes = (ropeParameters?["mrope_interleaved"] as? Bool ?? false)
                ? MultimodalRoPE.interleavedAxes(sections: sections, frequencies: c.headDim / 2)
                : MultimodalRoPE.contiguousAxes(sections: sections)
        }
        switch family {
        case .llama: break
        case .qwen2: c.hasQKVBias = optBool("attention_bias") ?? true
        case .qwen3:
            // Qwen3: RMSNorm over each query and key head before RoPE, no q/k/v biases by default.
            c.hasQKNorm = true
            c.hasQKVBias = optBool("attention_bias") ?? false
        case .gemma3:
            Gemma3Family.applyGemma3Switches(&c, slidingWindow: optInt("sliding_window") ?? 512,
                                             queryPreAttentionScalar: optFloat("query_pre_attn_scalar") ?? Float(c.headDim))
            c.localRopeTheta = ropeTheta("sliding_attention") ?? optFloat("rope_local_base_freq") ?? Gemma3Family.localRopeTheta
            c.normWeightOffset = 1
            if let types = j["layer_types"] as? [String] {
                guard types.count == c.layerCount else { throw VLMError.badInput("\(source): layer_types has \(types.count) entries for \(c.layerCount) layers") }
                c.globalLayers = types.map { $0 == "full_attention" }
            } else if let pattern = optInt("sliding_window_pattern") ?? optInt("_sliding_window_pattern") {
                c.slidingWindowPattern = pattern
            }
        }
        return c
    }

    /// Loads the decoder tensors named `<prefix>layers.N...` (prefix "model." for a causal LM,
    /// "model.language_model." or "language_model.model." inside a VLM).
    public static func load(config: DecoderConfig, checkpoint ck: TensorCheckpoint, prefix: String,
                            lmHeadName: String = "lm_head.weight") throws -> DecoderModel {
        try config.validate()
        let names = DecoderTensorNames.huggingFace(prefix: prefix, lmHead: lmHeadName, sandwichNorms: config.hasSandwichNorms)
        let weights = try DecoderWeights.load(config, names: names, matrix: ck.matrix(named:), vector: ck.floats(named:),
                                              contains: ck.contains)
        return try DecoderModel(config: config, weights: weights)
    }
}
