/// Splits text around special and added tokens written literally in it, longest match first,
/// so `<|im_start|>user` becomes [id of <|im_start|>] + "user". Matching works on UTF-8 bytes,
/// indexed by first byte, so thousands of specials (Gemma has ~6,400) cost little.
struct SpecialTokenSplitter: Sendable {
    enum Piece: Equatable { case text(String), special(Int32) }

    /// Per first byte: (token bytes, id), longest first.
    private let byFirstByte: [[([UInt8], Int32)]]

    init(vocabulary v: TokenizerVocabulary) {
        var table = Array(repeating: [([UInt8], Int32)](), count: 256)
        for id in v.specialTokenIDs {
            let bytes = Array(v.tokens[Int(id)].utf8)
            table[Int(bytes[0])].append((bytes, id))
        }
        byFirstByte = table.map { $0.sorted { $0.0.count > $1.0.count } }
    }

    func split(_ text: String) -> [Piece] {
        let bytes = Array(text.utf8)
        var pieces: [Piece] = []
        var runStart = 0, i = 0
        outer: while i < bytes.count {
            for (token, id) in byFirstByte[Int(bytes[i])] where i + token.count <= bytes.count {
                if bytes[i..<i + token.count].elementsEqual(token) {
                    if runStart < i { pieces.append(.text(String(decoding: bytes[runStart..<i], as: UTF8.self))) }
                    pieces.append(.special(id))
                    i += token.count
                    runStart = i
                    continue outer
                }
            }
            i += 1
        }
        if runStart < bytes.count { pieces.append(.text(String(decoding: bytes[runStart...], as: UTF8.self))) }
        return pieces
    }
}
