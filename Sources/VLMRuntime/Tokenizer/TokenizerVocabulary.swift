/// What a tokenizer is built from, independent of the file that held it: GGUF metadata
/// (`fromGGUF`, `fromGGUFMetadata`) or a Hugging Face tokenizer.json (`TokenizerJSONLoader`).
///
/// It is plain data, as the file states it; every derived table (lookups, merge ranks, byte
/// maps) belongs to the tokenizer built from it (`makeTokenizer`). Tests and other loaders can
/// fill one by hand.
public struct TokenizerVocabulary: Sendable {
    /// GGUF `tokenizer.ggml.model`: "gpt2" is byte-level BPE, "llama" is SentencePiece.
    public enum Model: String, Sendable { case byteLevelBPE, sentencePiece }

    /// GGUF's token types (llama.cpp's `llama_token_type`).
    public enum TokenType: Int32, Sendable {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6

        /// Matched as a whole wherever it is written in the text, before any splitting: control
        /// tokens (`<|im_start|>`), user-defined ones (`<image>`, Gemma's `<b>`) and unknown.
        var isMatchedWhole: Bool { self == .control || self == .userDefined || self == .unknown }
    }

    /// How a SentencePiece vocabulary orders its merges. A GGUF stores no merges for these, so
    /// they come from the vocabulary, the way transformers' GGUF loader rebuilds them:
    /// - `scores`: the stored scores order the merges (Llama 2 style; llama.cpp's SPM too).
    /// - `gemma`: the order of the tokens in the file does (Gemma's scores are -1000 for the
    ///   space-run, tab-run and newline-run tokens, which are still merged first), and tokens of
    ///   two or more spaces, stored as real spaces, are respelled "▁▁" so that merges form them.
    public enum SentencePieceMerges: String, Sendable { case scores, gemma }

    public var model: Model
    /// GGUF `tokenizer.ggml.pre` ("smollm", "llama-bpe", "qwen2", "gpt2", "default"...); picks
    /// the split `PreTokenizer` applies before byte-level merges.
    public var preTokenizer: String
    public var tokens: [String]
    /// Per-token scores (SentencePiece); zeros when the file has none.
    public var scores: [Float]
    public var types: [TokenType]
    /// Byte-level BPE merges, "left right", best first.
    public var merges: [String]
    public var bosID: Int32?
    public var eosID: Int32?
    public var unknownID: Int32?
    public var padID: Int32?
    /// Further tokens that end generation (GGUF `tokenizer.ggml.eot_token_id`/`eom_token_id`,
    /// generation_config.json's `eos_token_id` list).
    public var extraEndOfGenerationIDs: [Int32]
    /// Whether `encode(_, addSpecial: true)` adds BOS / EOS.
    public var addBOS: Bool
    public var addEOS: Bool
    /// SentencePiece: prepend "▁" to text at the start of the input (Llama 2's dummy prefix;
    /// off for Gemma 3).
    public var addSpacePrefix: Bool
    public var sentencePieceMerges: SentencePieceMerges
    /// The Jinja chat template stored with the model, if any (`ChatTemplate.detect` reads it).
    public var chatTemplate: String?

    public init(model: Model, preTokenizer: String, tokens: [String], scores: [Float]? = nil,
                types: [TokenType]? = nil, merges: [String] = [], bosID: Int32? = nil, eosID: Int32? = nil,
                unknownID: Int32? = nil, padID: Int32? = nil, extraEndOfGenerationIDs: [Int32] = [],
                addBOS: Bool = false, addEOS: Bool = false, addSpacePrefix: Bool = false,
                sentencePieceMerges: SentencePieceMerges = .scores, chatTemplate: String? = nil) {
        self.model = model; self.preTokenizer = preTokenizer; self.tokens = tokens
        self.scores = scores ?? Array(repeating: 0, count: tokens.count)
        self.types = types ?? Array(repeating: .normal, count: tokens.count)
        self.merges = merges; self.bosID = bosID; self.eosID = eosID; self.unknownID = unknownID
        self.padID = padID; self.extraEndOfGenerationIDs = extraEndOfGenerationIDs
        self.addBOS = addBOS; self.addEOS = addEOS; self.addSpacePrefix = addSpacePrefix
        self.sentencePieceMerges = sentencePieceMerges; self.chatTemplate = chatTemplate
    }

    /// Tokens matched as whole units in input text before any splitting.
    public var specialTokenIDs: [Int32] {
        types.indices.filter { types[$0].isMatchedWhole && !tokens[$0].isEmpty }.map(Int32.init)
    }

    /// EOS, the extra end-of-generation ids, and the end-of-turn markers chat models emit
    /// instead of EOS when the vocabulary marks them as control tokens.
    public var endOfGenerationIDs: Set<Int32> {
        var s = Set<Int32>(extraEndOfGenerationIDs)
        if let eosID { s.insert(eosID) }
        let markers: Set<String> = ["<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|endoftext|>", "<|end|>", "</s>"]
        for (i, t) in tokens.enumerated() where types[i] == .control && markers.contains(t) { s.insert(Int32(i)) }
        return s
    }

    /// Checks what a file could have gotten wrong: array lengths, ids inside the vocabulary.
    public func validate(source: String) throws {
        guard !tokens.isEmpty else { throw VLMError.badInput("\(source): empty vocabulary") }
        guard tokens.count < Int(Int32.max) else { throw VLMError.badInput("\(source): vocabulary too large") }
        guard scores.count == tokens.count, types.count == tokens.count else {
            throw VLMError.badInput("\(source): vocabulary arrays have different lengths "
                                    + "(\(tokens.count) tokens, \(scores.count) scores, \(types.count) types)")
        }
        let ids = [bosID, eosID, unknownID, padID].compactMap { $0 } + extraEndOfGenerationIDs
        for id in ids where id < 0 || Int(id) >= tokens.count {
            throw VLMError.badInput("\(source): special token id \(id) is outside the vocabulary of \(tokens.count)")
        }
    }

    // MARK: - GGUF

    /// Reads the tokenizer llama.cpp stores in GGUF metadata (`tokenizer.ggml.*`).
    public static func fromGGUF(_ f: GGUFFile) throws -> TokenizerVocabulary {
        try fromGGUFMetadata(f.metadata, source: f.path)
    }

    /// The same from the metadata alone. Defaults follow llama.cpp where a key is missing: BOS
    /// and the space prefix are on for SentencePiece, off for byte-level BPE.
    public static func fromGGUFMetadata(_ metadata: [String: GGUFValue], source: String) throws -> TokenizerVocabulary {
        func bad(_ key: String, _ what: String) -> VLMError { .badInput("\(source): metadata \(key) is not \(what)") }
        func string(_ key: String) throws -> String? {
            guard let v = metadata[key] else { return nil }
            guard let s = v.stringValue else { throw bad(key, "a string") }
            return s
        }
        func bool(_ key: String) throws -> Bool? {
            guard let v = metadata[key] else { return nil }
            guard let b = v.boolValue else { throw bad(key, "a bool") }
            return b
        }
        func id(_ key: String) throws -> Int32? {
            guard let v = metadata[key] else { return nil }
            guard let i = v.intValue, i >= 0, i <= Int(Int32.max) else { throw bad(key, "a token id") }
            return Int32(i)
        }

        guard let modelName = try string("tokenizer.ggml.model") else {
            throw VLMError.badInput("\(source): no tokenizer (metadata tokenizer.ggml.model is missing)")
        }
        let model: Model
        switch modelName {
        case "gpt2": model = .byteLevelBPE
        case "llama": model = .sentencePiece
        default: throw VLMError.unsupported("\(source): tokenizer model '\(modelName)' (supported: gpt2, llama)")
        }
        guard case .stringArray(let tokens)? = metadata["tokenizer.ggml.tokens"] else {
            throw VLMError.badInput("\(source): metadata tokenizer.ggml.tokens is missing or not an array of strings")
        }
        var scores: [Float]?
        switch metadata["tokenizer.ggml.scores"] {
        case nil: scores = nil
        case .floatArray(let a)?: scores = a.map { Float($0) }
        default: throw bad("tokenizer.ggml.scores", "an array of numbers")
        }
        var types: [TokenType]?
        switch metadata["tokenizer.ggml.token_type"] {
        case nil: types = nil
        // 0 (undefined) and unknown values count as normal tokens, as in llama.cpp.
        case .intArray(let a)?: types = a.map { TokenType(rawValue: Int32(clamping: $0)) ?? .normal }
        default: throw bad("tokenizer.ggml.token_type", "an array of integers")
        }
        var merges: [String] = []
        switch metadata["tokenizer.ggml.merges"] {
        case nil: break
        case .stringArray(let a)?: merges = a
        default: throw bad("tokenizer.ggml.merges", "an array of strings")
        }
        let eotIDs = try ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"].compactMap { try id($0) }
        let architecture = try string("general.architecture") ?? ""
        let isSPM = model == .sentencePiece
        let v = TokenizerVocabulary(
            model: model, preTokenizer: try string("tokenizer.ggml.pre") ?? "default", tokens: tokens,
            scores: scores, types: types, merges: merges,
            bosID: try id("tokenizer.ggml.bos_token_id"), eosID: try id("tokenizer.ggml.eos_token_id"),
            unknownID: try id("tokenizer.ggml.unknown_token_id"), padID: try id("tokenizer.ggml.padding_token_id"),
            extraEndOfGenerationIDs: eotIDs,
            addBOS: try bool("tokenizer.ggml.add_bos_token") ?? isSPM,
            addEOS: try bool("tokenizer.ggml.add_eos_token") ?? false,
            addSpacePrefix: try bool("tokenizer.ggml.add_space_prefix") ?? isSPM,
            // transformers rebuilds Gemma's merges from the token order (see SentencePieceMerges).
            sentencePieceMerges: architecture.hasPrefix("gemma") ? .gemma : .scores,
            chatTemplate: try string("tokenizer.chat_template"))
        try v.validate(source: source)
        if model == .byteLevelBPE && merges.isEmpty {
            throw VLMError.badInput("\(source): byte-level BPE vocabulary without tokenizer.ggml.merges")
        }
        return v
    }
}
