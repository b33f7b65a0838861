/// GPT-2-style byte-level BPE: text is split by the pre-tokenizer, each piece's UTF-8 bytes are
/// mapped to printable stand-in characters (so every byte sequence has a spelling), and merges
/// are applied lowest rank first. Used by SmolLM2, Llama 3 and Qwen2.
public final class ByteLevelBPETokenizer: Tokenizer, @unchecked Sendable {
    public let vocabulary: TokenizerVocabulary
    let pre: PreTokenizer
    let specials: SpecialTokenSplitter
    /// Rank of each merge, keyed by the pair of symbol ids it joins.
    let mergeRank: [UInt64: Int32]
    /// Token id of each byte's stand-in character, and the byte each stand-in character stands for.
    let byteSymbol: [Int32]
    let unicodeToByte: [UInt32: UInt8]
    /// Pieces seen before, with their ids (prompts repeat words a lot).
    private var cache: [String: [Int32]] = [:]
    private let cacheLock = Lock()

    public init(_ v: TokenizerVocabulary) throws {
        vocabulary = v
        pre = PreTokenizer(ggufName: v.preTokenizer)
        specials = SpecialTokenSplitter(vocabulary: v)
        let table = ByteLevel.byteToUnicode
        var unicodeToByte: [UInt32: UInt8] = [:]
        var byteSymbol = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            unicodeToByte[table[b].value] = UInt8(b)
            // Some vocabularies (SmolLM2's) omit symbols of control bytes that never occurred in
            // training; such a byte encodes as the unknown token.
            byteSymbol[b] = v.idOf[String(Character(table[b]))] ?? v.unknownID ?? 0
        }
        self.unicodeToByte = unicodeToByte
        self.byteSymbol = byteSymbol
        var ranks: [UInt64: Int32] = [:]
        ranks.reserveCapacity(v.merges.count)
        for (rank, merge) in v.merges.enumerated() {
            let parts = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let a = v.idOf[String(parts[0])], let b = v.idOf[String(parts[1])],
                  v.idOf[String(parts[0]) + String(parts[1])] != nil else { continue }
            let key = UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))
            if ranks[key] == nil { ranks[key] = Int32(rank) }
        }
        mergeRank = ranks
    }

    public func encode(_ text: String, addSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        if addSpecial, vocabulary.addBOS, let bos = vocabulary.bosID { ids.append(bos) }
        for piece in specials.split(text) {
            switch piece {
            case .special(let id): ids.append(id)
            case .text(let t):
                for word in pre.split(t) { ids += encodeWord(String(word)) }
            }
        }
        return ids
    }

    func encodeWord(_ word: String) -> [Int32] {
        if let hit = cacheLock.withLock({ cache[word] }) { return hit }
        var symbols = word.utf8.map { byteSymbol[Int($0)] }
        let vocab = vocabulary
        while symbols.count > 1 {
            var best = Int32.max, at = -1
            for i in 0..<symbols.count - 1 {
                let key = UInt64(UInt32(symbols[i])) << 32 | UInt64(UInt32(symbols[i + 1]))
                if let r = mergeRank[key], r < best { best = r; at = i }
            }
            if at < 0 { break }
            let merged = vocab.tokens[Int(symbols[at])] + vocab.tokens[Int(symbols[at + 1])]
            symbols[at] = vocab.idOf[merged]!
            symbols.remove(at: at + 1)
        }
        cacheLock.withLock { if cache.count < 100_000 { cache[word] = symbols } }
        return symbols
    }

    public func bytes(of id: Int32) -> [UInt8] {
        guard id >= 0, Int(id) < vocabulary.tokens.count else { return [] }
        let token = vocabulary.tokens[Int(id)]
        if vocabulary.types[Int(id)] == .control || vocabulary.types[Int(id)] == .userDefined { return Array(token.utf8) }
        var out: [UInt8] = []
        for s in token.unicodeScalars {
            if let b = unicodeToByte[s.value] { out.append(b) } else { out += Array(String(s).utf8) }
        }
        return out
    }
}

/// GPT-2's reversible byte -> printable character table: printable Latin-1 bytes map to
/// themselves, the rest to U+0100 onwards in byte order.
enum ByteLevel {
    static let byteToUnicode: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var n: UInt32 = 0
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable { table[b] = Unicode.Scalar(UInt32(b))! } else { table[b] = Unicode.Scalar(256 + n)!; n += 1 }
        }
        return table
    }()
}
