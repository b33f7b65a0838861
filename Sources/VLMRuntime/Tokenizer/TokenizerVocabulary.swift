/// What a tokenizer is built from, independent of the file that held it (GGUF metadata or a
/// Hugging Face tokenizer.json).
public struct TokenizerVocabulary: Sendable {
    public enum Model: String, Sendable { case byteLevelBPE, sentencePiece }
    /// GGUF's token types.
    public enum TokenType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public var model: Model
    /// The pre-tokenizer name (GGUF `tokenizer.ggml.pre`: "smollm", "llama-bpe", "qwen2", "gpt2"...).
    public var preTokenizer: String
    public var tokens: [String]
    public var scores: [Float]
    public var types: [TokenType]
    public var merges: [String]
    public var bosID: Int32?
    public var eosID: Int32?
    public var unknownID: Int32?
    public var addBOS: Bool
    public var addSpacePrefix: Bool
    public var chatTemplate: String?
    public let idOf: [String: Int32]

    public init(model: Model, preTokenizer: String, tokens: [String], scores: [Float]? = nil,
                types: [TokenType]? = nil, merges: [String] = [], bosID: Int32? = nil, eosID: Int32? = nil,
                unknownID: Int32? = nil, addBOS: Bool = false, addSpacePrefix: Bool = false,
                chatTemplate: String? = nil) {
        self.model = model; self.preTokenizer = preTokenizer; self.tokens = tokens
        self.scores = scores ?? Array(repeating: 0, count: tokens.count)
        self.types = types ?? Array(repeating: .normal, count: tokens.count)
        self.merges = merges; self.bosID = bosID; self.eosID = eosID; self.unknownID = unknownID
        self.addBOS = addBOS; self.addSpacePrefix = addSpacePrefix; self.chatTemplate = chatTemplate
        var idOf: [String: Int32] = [:]
        idOf.reserveCapacity(tokens.count)
        // The first id wins when a vocabulary lists a string twice (as HF does).
        for (i, t) in tokens.enumerated() where idOf[t] == nil { idOf[t] = Int32(i) }
        self.idOf = idOf
    }

    /// Tokens matched as whole units in input text before any splitting.
    public var specialTokenIDs: [Int32] {
        types.indices.filter { types[$0] == .control || types[$0] == .userDefined }
            .filter { !tokens[$0].isEmpty }.map(Int32.init)
    }

    /// EOS and the end-of-turn markers chat models emit instead of EOS.
    public var endOfGenerationIDs: Set<Int32> {
        var s = Set<Int32>()
        if let eosID { s.insert(eosID) }
        for t in ["<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|endoftext|>", "</s>"] {
            if let id = idOf[t], types[Int(id)] == .control { s.insert(id) }
        }
        return s
    }

    func validate(source: String) throws {
        guard !tokens.isEmpty else { throw VLMError.badInput("\(source): empty vocabulary") }
        guard scores.count == tokens.count, types.count == tokens.count else {
            throw VLMError.badInput("\(source): vocabulary arrays have different lengths")
        }
        for id in [bosID, eosID, unknownID].compactMap({ $0 }) where id < 0 || Int(id) >= tokens.count {
            throw VLMError.badInput("\(source): special token id \(id) is outside the vocabulary")
        }
    }

    /// Reads the tokenizer llama.cpp stores in GGUF metadata (`tokenizer.ggml.*`).
    public static func fromGGUF(_ f: GGUFFile) throws -> TokenizerVocabulary {
        let modelName = try f.string("tokenizer.ggml.model")
        let model: Model
        switch modelName {
        case "gpt2": model = .byteLevelBPE
        case "llama": model = .sentencePiece
        default: throw VLMError.unsupported("\(f.path): tokenizer model '\(modelName)' (supported: gpt2, llama)")
        }
        let tokens = try f.stringArray("tokenizer.ggml.tokens")
        let types = try f.intArrayIfPresent("tokenizer.ggml.token_type")?.map {
            TokenType(rawValue: Int32(clamping: $0)) ?? .normal
        }
        func id(_ key: String) throws -> Int32? { try f.intIfPresent(key).map { Int32(clamping: $0) } }
        let v = TokenizerVocabulary(
            model: model, preTokenizer: try f.stringIfPresent("tokenizer.ggml.pre") ?? "default", tokens: tokens,
            scores: try f.floatArrayIfPresent("tokenizer.ggml.scores"), types: types,
            merges: try f.stringArrayIfPresent("tokenizer.ggml.merges") ?? [],
            bosID: try id("tokenizer.ggml.bos_token_id"), eosID: try id("tokenizer.ggml.eos_token_id"),
            unknownID: try id("tokenizer.ggml.unknown_token_id"),
            addBOS: try f.boolIfPresent("tokenizer.ggml.add_bos_token") ?? (model == .sentencePiece),
            addSpacePrefix: try f.boolIfPresent("tokenizer.ggml.add_space_prefix") ?? (model == .sentencePiece),
            chatTemplate: try f.stringIfPresent("tokenizer.chat_template"))
        try v.validate(source: f.path)
        return v
    }
}
