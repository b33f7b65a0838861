/// Turns generated ids into text one id at a time, handing out only whole UTF-8 characters.
///
/// Why: a byte-level BPE token can end inside a multi-byte character (an emoji is often 2-4
/// tokens of SmolLM2's vocabulary), and so can SentencePiece byte-fallback tokens `<0xF0>`...;
/// decoding each token alone would print U+FFFD and garble the character. The bytes of the
/// unfinished character are held until the tokens that complete it arrive. Everything pushed,
/// then `flush()`ed, concatenates to what `decode` gives for all the ids at once (for text that
/// is valid UTF-8; invalid bytes become U+FFFD as soon as they can no longer start a character).
public struct StreamingDetokenizer {
    let tokenizer: any Tokenizer
    /// Leave out control tokens (`<|im_end|>`, `<end_of_turn>`), as skip_special_tokens does.
    public var skipSpecialTokens: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, skipSpecialTokens: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// The text that became complete with `id` (often "" while a character is unfinished).
    public mutating func push(_ id: Int32) -> String {
        if skipSpecialTokens && tokenizer.isControl(id) { return "" }
        tokenizer.appendBytes(of: id, to: &pending)
        let n = Self.completePrefixLength(pending)
        guard n > 0 else { return "" }
        let text = String(decoding: pending[..<n], as: UTF8.self)
        pending.removeFirst(n)
        return text
    }

    /// Whatever is left at the end of generation (an unfinished character becomes U+FFFD, as a
    /// lenient decoder renders it).
    public mutating func flush() -> String {
        defer { pending = [] }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix of `b` that can be decoded now: all of it, unless it ends in
    /// the first bytes of a character that more bytes could still complete. Only a valid
    /// beginning is held back (lead byte C2...F4 and continuation bytes in the ranges that lead
    /// allows), so invalid bytes come out at once, exactly as decoding everything would show them.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        // The last byte that is not a continuation byte, at most 3 back.
        var k = n - 1
        while k >= 0 && n - k <= 3 && b[k] & 0xC0 == 0x80 { k -= 1 }
        guard k >= 0, n - k <= 3 else { return n }
        let lead = b[k]
        let need: Int
        switch lead {
        case 0xC2...0xDF: need = 2
        case 0xE0...0xEF: need = 3
        case 0xF0...0xF4: need = 4
        default: return n   // ASCII, a stray continuation or an invalid lead: nothing to wait for
        }
        let have = n - k
        if have >= need { return n }
        // The second byte's allowed range depends on the lead (no overlongs, surrogates, > U+10FFFF).
        if have >= 2 {
            let second = b[k + 1]
            let ok: Bool
            switch lead {
            case 0xE0: ok = (0xA0...0xBF).contains(second)
            case 0xED: ok = (0x80...0x9F).contains(second)
            case 0xF0: ok = (0x90...0xBF).contains(second)
            case 0xF4: ok = (0x80...0x8F).contains(second)
            default: ok = true
            }
            if !ok { return n }
        }
        return k
    }
}
