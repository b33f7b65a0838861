/// Turns generated ids into text one id at a time, handing out only complete UTF-8: a token
/// that ends inside a multi-byte character (byte-level BPE pieces, byte-fallback tokens) is
/// held until the character completes.
public struct StreamingDetokenizer {
    let tokenizer: any Tokenizer
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer) { self.tokenizer = tokenizer }

    /// The text that became complete with `id`.
    public mutating func push(_ id: Int32) -> String {
        pending += tokenizer.bytes(of: id)
        let n = Self.completePrefixLength(pending)
        guard n > 0 else { return "" }
        let text = String(decoding: pending[..<n], as: UTF8.self)
        pending.removeFirst(n)
        return text
    }

    /// Whatever is left (an unfinished character becomes U+FFFD, as a lenient decoder does).
    public mutating func flush() -> String {
        defer { pending = [] }
        return pending.isEmpty ? "" : String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a UTF-8 sequence.
    static func completePrefixLength(_ b: [UInt8]) -> Int {
        var i = b.count
        // Walk back over at most 3 continuation bytes to the last lead byte.
        var k = i - 1
        while k >= 0 && k >= i - 4 && b[k] & 0xC0 == 0x80 { k -= 1 }
        guard k >= 0 else { return b.count > 3 ? b.count : 0 }
        let lead = b[k]
        let need = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 1
        if i - k < need { i = k }
        return i
    }
}
