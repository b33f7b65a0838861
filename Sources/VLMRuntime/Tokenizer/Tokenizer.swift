/// Text <-> token ids. Two implementations share this surface: byte-level BPE (GPT-2 style:
/// SmolLM2, Llama 3, Qwen2) and SentencePiece-style BPE (scores, byte fallback: Gemma, Llama 2).
/// `makeTokenizer` picks one from a `TokenizerVocabulary`. Implementations are immutable after
/// construction, so one tokenizer may be used from many threads.
public protocol Tokenizer: Sendable {
    /// Encodes `text`. Special and added tokens written in the text (`<|im_start|>`,
    /// `<start_of_turn>`, `<image>`) become their ids before any other splitting, as HF
    /// tokenizers and llama.cpp (parse_special=true) do. `addSpecial` adds BOS (and EOS) when
    /// the vocabulary asks for them; chat templates that write BOS themselves pass false.
    func encode(_ text: String, addSpecial: Bool) -> [Int32]
    /// The text of `ids`, special tokens included as written (HF's `decode` with
    /// skip_special_tokens=False). Invalid UTF-8 becomes U+FFFD.
    func decode(_ ids: [Int32]) -> String
    /// `decode`, optionally leaving out control tokens (`<bos>`, `<|im_end|>`), as HF's
    /// skip_special_tokens=True does.
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String
    var bosID: Int32? { get }
    /// Tokens that end generation: EOS plus the chat end-of-turn markers (`<|im_end|>`, `<end_of_turn>`).
    var eosIDs: Set<Int32> { get }
    var vocabSize: Int { get }
    /// The token as the vocabulary spells it (`Ġthe`, `▁the`, `<0x0A>`), nil outside the vocabulary.
    func tokenString(_ id: Int32) -> String?
    /// The id of an exact spelling (compared as UTF-8 bytes, not by canonical equivalence).
    func id(of tokenString: String) -> Int32?
    /// The raw bytes a token stands for. Byte-level pieces and byte-fallback tokens can be part
    /// of a UTF-8 character, so text is made only from joined bytes (`StreamingDetokenizer`).
    func bytes(of id: Int32) -> [UInt8]
    func appendBytes(of id: Int32, to out: inout [UInt8])
    var vocabulary: TokenizerVocabulary { get }
}

extension Tokenizer {
    public var vocabSize: Int { vocabulary.tokens.count }
    public var bosID: Int32? { vocabulary.bosID }

    public func appendBytes(of id: Int32, to out: inout [UInt8]) { out.append(contentsOf: bytes(of: id)) }

    public func decode(_ ids: [Int32]) -> String { decode(ids, skipSpecialTokens: false) }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where !(skipSpecialTokens && isControl(id)) { appendBytes(of: id, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `id` is a control token (BOS, EOS, chat markers): what skip_special_tokens drops.
    public func isControl(_ id: Int32) -> Bool {
        guard id >= 0, Int(id) < vocabulary.types.count else { return false }
        return vocabulary.types[Int(id)] == .control
    }

    public func tokenString(_ id: Int32) -> String? {
        id >= 0 && Int(id) < vocabulary.tokens.count ? vocabulary.tokens[Int(id)] : nil
    }
}

/// Builds the tokenizer a vocabulary describes.
public func makeTokenizer(_ v: TokenizerVocabulary) throws -> any Tokenizer {
    switch v.model {
    case .byteLevelBPE: return try ByteLevelBPETokenizer(v)
    case .sentencePiece: return try SentencePieceTokenizer(v)
    }
}
