/// Builds a `DecoderModel` from a GGUF file: the architecture named in `general.architecture`
/// picks the family that reads the hyper-parameters; tensors use llama.cpp's names.
/// Weights stay in the memory-mapped file in their stored (quantized) types.
public enum GGUFDecoderLoader {
    public static let supportedArchitectures = ["llama", "qwen2", "gemma3"]

    public static func load(_ f: GGUFFile) throws -> DecoderModel {
        let arch = try f.string("general.architecture")
        guard let embeddingInfo = f.tensor(named: "token_embd.weight"), embeddingInfo.shape.count == 2 else {
            throw VLMError.badInput("\(f.path): no 2-D token_embd.weight tensor")
        }
        let vocab = embeddingInfo.shape[1]
        var config: DecoderConfig
        switch arch {
        case "llama": config = try LlamaFamily.config(gguf: f, vocabSize: vocab)
        case "qwen2": config = try Qwen2Family.config(gguf: f, vocabSize: vocab)
        case "gemma3": config = try Gemma3Family.config(gguf: f, vocabSize: vocab)
        default:
            throw VLMError.unsupported("\(f.path): architecture '\(arch)' (supported: \(supportedArchitectures.joined(separator: ", ")))")
        }
        try config.validate()

        var layers: [DecoderLayerWeights] = []
        for i in 0..<config.layerCount {
            let b = "blk.\(i)."
            var l = DecoderLayerWeights(
                attentionNorm: try f.vector(named: b + "attn_norm.weight"),
                query: try f.matrix(named: b + "attn_q.weight"), key: try f.matrix(named: b + "attn_k.weight"),
                value: try f.matrix(named: b + "attn_v.weight"), output: try f.matrix(named: b + "attn_output.weight"),
                mlpNorm: try f.vector(named: b + "ffn_norm.weight"),
                gate: try f.matrix(named: b + "ffn_gate.weight"), up: try f.matrix(named: b + "ffn_up.weight"),
                down: try f.matrix(named: b + "ffn_down.weight"))
            if config.hasQKVBias {
                l.queryBias = try f.vector(named: b + "attn_q.bias")
                l.keyBias = try f.vector(named: b + "attn_k.bias")
                l.valueBias = try f.vector(named: b + "attn_v.bias")
            }
            if config.hasQKNorm {
                l.queryNorm = try f.vector(named: b + "attn_q_norm.weight")
                l.keyNorm = try f.vector(named: b + "attn_k_norm.weight")
            }
            if config.hasSandwichNorms {
                l.postAttentionNorm = try f.vector(named: b + "post_attention_norm.weight")
                l.postMLPNorm = try f.vector(named: b + "post_ffw_norm.weight")
            }
            layers.append(l)
        }
        let embedding = try f.matrix(named: "token_embd.weight")
        let head = f.tensor(named: "output.weight") == nil ? embedding : try f.matrix(named: "output.weight")
        let weights = DecoderWeights(embedding: embedding, layers: layers,
                                     finalNorm: try f.vector(named: "output_norm.weight"), outputHead: head)
        return try DecoderModel(config: config, weights: weights)
    }
}
