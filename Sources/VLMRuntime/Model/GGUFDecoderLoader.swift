/// Builds a `DecoderModel` from a GGUF file: the architecture named in `general.architecture`
/// picks the family that reads the hyper-parameters; tensors use llama.cpp's names.
/// Weights stay in the memory-mapped file in their stored (quantized) types.
public enum GGUFDecoderLoader {
    public static let supportedArchitectures = ["llama", "qwen2", "qwen2vl", "qwen3", "qwen3vl", "gemma3"]

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
        case "qwen2vl": config = try Qwen2Family.configVL(gguf: f, vocabSize: vocab)
        case "qwen3": config = try Qwen3Family.config(gguf: f, vocabSize: vocab)
        case "qwen3vl": config = try Qwen3Family.configVL(gguf: f, vocabSize: vocab)
        case "gemma3": config = try Gemma3Family.config(gguf: f, vocabSize: vocab)
        default:
            throw VLMError.unsupported("\(f.path): architecture '\(arch)' (supported: \(supportedArchitectures.joined(separator: ", ")))")
        }
        try config.validate()

        let weights = try DecoderWeights.load(config, names: .gguf, matrix: f.matrix(named:), vector: f.vector(named:),
                                              contains: { f.tensor(named: $0) != nil })
        return try DecoderModel(config: config, weights: weights)
    }
}
