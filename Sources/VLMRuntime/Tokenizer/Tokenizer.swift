/// Text <-> token ids. Two implementations share this surface: byte-level BPE (GPT-2 style:
/// SmolLM2, Llama 3, Qwen2) and SentencePiece-style (scores and byte fallback: Gemma, Llama 2).
public protocol Tokenizer: Sendable {
    /// Encodes `text`. Special and added tokens written in the text (`<|im_start|>`,
    /// `<start_of_turn>`, `<image>`) become their ids, as transformers does for chat prompts.
    /// `addSpecial` prepends BOS when the model asks for it (raw prompts).
    func encode(_ text: String, addSpecial: Bool) -> [Int32]
    /// The raw bytes a token stands for (byte-level tokens and byte-fallback tokens are
    /// partial UTF-8; callers join bytes before making text).
    func bytes(of id: Int32) -> [UInt8]
    var vocabulary: TokenizerVocabulary { get }
}

extension Tokenizer {
    public var vocabSize: Int { vocabulary.tokens.count }
    public var bosID: Int32? { vocabulary.bosID }
    /// Tokens that end generation: EOS, plus end-of-turn tokens of chat templates.
    public var eosIDs: Set<Int32> { vocabulary.endOfGenerationIDs }

    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += self.bytes(of: id) }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func tokenString(_ id: Int32) -> String? {
        id >= 0 && Int(id) < vocabulary.tokens.count ? vocabulary.tokens[Int(id)] : nil
    }

    public func id(of token: String) -> Int32? { vocabulary.idOf[token] }
}

/// Builds the tokenizer a vocabulary describes.
public func makeTokenizer(_ v: TokenizerVocabulary) throws -> any Tokenizer {
    switch v.model {
    case .byteLevelBPE: return try ByteLevelBPETokenizer(v)
    case .sentencePiece: return try SentencePieceTokenizer(v)
    }
}
