/// SentencePiece-style tokenization as Gemma and Llama 2 GGUFs store it: spaces become "▁",
/// the text starts as single Unicode scalars (code points, not Swift's grapheme clusters: an
/// emoji ZWJ sequence, a flag or "e" + combining accent is several symbols), and the adjacent pair whose joined string is a token
/// with the highest score is merged first (llama.cpp's SPM algorithm). Characters that end up
/// outside the vocabulary fall back to byte tokens `<0xNN>`.
public final class SentencePieceTokenizer: Tokenizer, @unchecked Sendable {
    public let vocabulary: TokenizerVocabulary
    let specials: SpecialTokenSplitter
    /// Token id for each byte-fallback token <0x00>...<0xFF>, when present.
    let byteTokens: [Int32?]
    /// Token ids by exact UTF-8 spelling. Swift's String equality (and so `vocabulary.idOf`)
    /// treats canonically equivalent spellings as equal ("e\u{301}" == "é"); SentencePiece
    /// compares bytes, so a decomposed accent must not find the precomposed token.
    let pieceID: [ExactPiece: Int32]

    public init(_ v: TokenizerVocabulary) throws {
        vocabulary = v
        specials = SpecialTokenSplitter(vocabulary: v)
        var bytes = [Int32?](repeating: nil, count: 256)
        for b in 0..<256 {
            let hex = String(b, radix: 16, uppercase: true)
            bytes[b] = v.idOf["<0x" + (hex.count == 1 ? "0" : "") + hex + ">"]
        }
        byteTokens = bytes
        var pieceID: [ExactPiece: Int32] = [:]
        pieceID.reserveCapacity(v.tokens.count)
        for (i, t) in v.tokens.enumerated() where pieceID[ExactPiece(t)] == nil { pieceID[ExactPiece(t)] = Int32(i) }
        self.pieceID = pieceID
    }

    public func encode(_ text: String, addSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        if addSpecial, vocabulary.addBOS, let bos = vocabulary.bosID { ids.append(bos) }
        var first = true
        for piece in specials.split(text) {
            switch piece {
            case .special(let id): ids.append(id)
            case .text(let t):
                var s = t
                if first && vocabulary.addSpacePrefix { s = " " + s }
                ids += encodeSegment(s.replacingSpaces())
            }
            first = false
        }
        return ids
    }

    /// Symbols as a doubly linked list over the scalars; merges by best score (ties: leftmost).
    func encodeSegment(_ text: String) -> [Int32] {
        var pieces = text.unicodeScalars.map { String($0) }
        if pieces.isEmpty { return [] }
        let v = vocabulary
        var prev = Array(-1..<pieces.count - 1), next = Array(1...pieces.count)
        next[pieces.count - 1] = -1
        var alive = [Bool](repeating: true, count: pieces.count)
        // Candidate merges in a max-heap on (score, -left index).
        var heap = Heap()
        func consider(_ l: Int) {
            let r = next[l]
            guard l >= 0, r >= 0 else { return }
            if let id = pieceID[ExactPiece(pieces[l] + pieces[r])] {
                heap.push(.init(score: v.scores[Int(id)], left: l, right: r, length: pieces[l].utf8.count + pieces[r].utf8.count))
            }
        }
        for i in 0..<pieces.count - 1 { consider(i) }
        while let c = heap.pop() {
            // Skip stale candidates whose symbols changed since they were pushed.
            guard alive[c.left], alive[c.right], next[c.left] == c.right,
                  pieces[c.left].utf8.count + pieces[c.right].utf8.count == c.length else { continue }
            pieces[c.left] += pieces[c.right]
            alive[c.right] = false
            next[c.left] = next[c.right]
            if next[c.left] >= 0 { prev[next[c.left]] = c.left }
            if prev[c.left] >= 0 { consider(prev[c.left]) }
            consider(c.left)
        }
        var ids: [Int32] = []
        var i = 0
        while i >= 0 {
            if let id = pieceID[ExactPiece(pieces[i])] {
                ids.append(id)
            } else {
                for b in pieces[i].utf8 {
                    if let t = byteTokens[Int(b)] { ids.append(t) } else if let unk = v.unknownID { ids.append(unk) }
                }
            }
            i = next[i]
        }
        return ids
    }

    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.tokens.count else { return [] }
        let token = vocabulary.tokens[Int(id)]
        if vocabulary.types[Int(id)] == .byte, token.count == 6, let b = UInt8(token.dropFirst(3).prefix(2), radix: 16) {
            return [b]
        }
        return Array(token.replacingOccurrencesOfSpaceMarker().utf8)
    }

    struct Candidate { let score: Float; let left: Int; let right: Int; let length: Int }

    /// A binary max-heap ordered by score, then by leftmost position.
    struct Heap {
        var items: [Candidate] = []
        static func better(_ a: Candidate, _ b: Candidate) -> Bool {
            a.score > b.score || (a.score == b.score && a.left < b.left)
        }
        mutating func push(_ c: Candidate) {
            items.append(c)
            var i = items.count - 1
            while i > 0 {
                let p = (i - 1) / 2
                if !Self.better(items[i], items[p]) { break }
                items.swapAt(i, p); i = p
            }
        }
        mutating func pop() -> Candidate? {
            guard let top = items.first else { return nil }
            let last = items.removeLast()
            if !items.isEmpty {
                items[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < items.count && Self.better(items[l], items[m]) { m = l }
                    if r < items.count && Self.better(items[r], items[m]) { m = r }
                    if m == i { break }
                    items.swapAt(i, m); i = m
                }
            }
            return top
        }
    }
}

/// A token spelling compared and hashed by its UTF-8 bytes, not by canonical equivalence.
struct ExactPiece: Hashable {
    var string: String
    init(_ s: String) { string = s }
    static func == (a: ExactPiece, b: ExactPiece) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }
    func hash(into h: inout Hasher) {
        var s = string
        s.withUTF8 { h.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

extension String {
    /// SentencePiece writes spaces as U+2581 "▁". Scalar by scalar: a space followed by a
    /// combining mark is one Swift Character but still a space to SentencePiece.
    func replacingSpaces() -> String {
        var out = String.UnicodeScalarView()
        for c in unicodeScalars { out.append(c == " " ? "\u{2581}" : c) }
        return String(out)
    }
    func replacingOccurrencesOfSpaceMarker() -> String {
        var out = String.UnicodeScalarView()
        for c in unicodeScalars { out.append(c == "\u{2581}" ? " " : c) }
        return String(out)
    }
}
