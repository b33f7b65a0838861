/// GPT-2-style byte-level BPE (SmolLM2, Llama 3, Qwen2): special tokens are cut out first, the
/// rest is split by the pre-tokenizer, each piece's UTF-8 bytes start as one symbol each (the
/// vocabulary spells byte b as GPT-2's printable stand-in character, `ByteLevel.byteToUnicode`),
/// and adjacent symbols are merged by merge rank, best first, leftmost among equals — HF
/// tokenizers' `BPE` and llama.cpp's `llm_tokenizer_bpe` both do exactly this.
///
/// A byte the vocabulary has no symbol for is dropped, as HF's BPE does when the model has no
/// unknown token (SmolLM2 was trained on a restricted byte alphabet) and as llama.cpp does.
public final class ByteLevelBPETokenizer: Tokenizer, Sendable {
    public let vocabulary: TokenizerVocabulary
    let pre: PreTokenizer
    let specials: SpecialTokenSplitter
    let lookup: TokenLookup
    /// (left id, right id) -> rank << 32 | merged id.
    let mergeTable: [UInt64: UInt64]
    /// Token id of each byte's stand-in symbol, or -1.
    let byteSymbol: [Int32]
    /// What each token decodes to: byte-level tokens through the inverse byte map, special and
    /// added tokens as their text.
    let decoded: TokenBytes
    public let eosIDs: Set<Int32>

    public init(_ v: TokenizerVocabulary) throws {
        guard v.model == .byteLevelBPE else { throw VLMError.usage("ByteLevelBPETokenizer needs a byte-level BPE vocabulary") }
        try v.validate(source: "vocabulary")
        vocabulary = v
        pre = PreTokenizer(ggufName: v.preTokenizer)
        specials = SpecialTokenSplitter(vocabulary: v)
        let lookup = TokenLookup(tokens: v.tokens)
        self.lookup = lookup

        var byteSymbol = [Int32](repeating: -1, count: 256)
        for b in 0..<256 { byteSymbol[b] = lookup.id(of: String(Character(ByteLevel.byteToUnicode[b]))) ?? -1 }
        self.byteSymbol = byteSymbol

        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(v.merges.count)
        for (rank, merge) in v.merges.enumerated() {
            var m = merge
            let entry: (UInt64, UInt64)? = m.withUTF8 { p -> (UInt64, UInt64)? in
                guard let space = p.firstIndex(of: 0x20), space > 0, space < p.count - 1,
                      let a = lookup.id(p, 0..<space), let b = lookup.id(p, space + 1..<p.count) else { return nil }
                // The merged token spelled without the separating space.
                var joined = [UInt8](p[0..<space])
                joined.append(contentsOf: p[(space + 1)...])
                guard let c = joined.withUnsafeBytes({ lookup.id($0) }) else { return nil }
                return (UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)), UInt64(rank) << 32 | UInt64(UInt32(c)))
            }
            if let (key, value) = entry, table[key] == nil { table[key] = value }
        }
        mergeTable = table

        var unicodeToByte: [UInt32: UInt8] = [:]
        for b in 0..<256 { unicodeToByte[ByteLevel.byteToUnicode[b].value] = UInt8(b) }
        decoded = TokenBytes(v.tokens) { i, token, out in
            if v.types[i].isMatchedWhole { out.append(contentsOf: token.utf8); return }
            for s in token.unicodeScalars {
                if let b = unicodeToByte[s.value] { out.append(b) } else { out.append(contentsOf: String(s).utf8) }
            }
        }
        eosIDs = v.endOfGenerationIDs
    }

    public func encode(_ text: String, addSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial, vocabulary.addBOS, let bos = vocabulary.bosID { ids.append(bos) }
        var work = Workspace()
        var scratch = PreTokenizer.Scratch()
        var t = text
        t.withUTF8 { bytes in
            specials.split(bytes, 0..<bytes.count, text: { run in
                pre.split(bytes, run, scratch: &scratch) { piece in merge(bytes, piece, &work, into: &ids) }
            }, special: { ids.append($0) })
        }
        if addSpecial, vocabulary.addEOS, let eos = vocabulary.eosID { ids.append(eos) }
        return ids
    }

    /// Reused buffers of the merge loop: symbols as a doubly linked list over the piece's bytes.
    struct Workspace {
        var symbol: [Int32] = []
        var next: [Int32] = []
        var prev: [Int32] = []
        var queue = MergeQueue<Candidate>()
    }

    /// A possible merge of the symbols at `left` and `right`; stale once either has changed.
    struct Candidate: Comparable {
        var rank: Int32, left: Int32, right: Int32, leftID: Int32, rightID: Int32, merged: Int32
        static func < (a: Candidate, b: Candidate) -> Bool { a.rank != b.rank ? a.rank < b.rank : a.left < b.left }
        static func == (a: Candidate, b: Candidate) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    @inline(__always)
    func candidate(_ w: inout Workspace, _ l: Int32) {
        let r = w.next[Int(l)]
        guard r >= 0 else { return }
        let a = w.symbol[Int(l)], b = w.symbol[Int(r)]
        guard let m = mergeTable[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] else { return }
        w.queue.push(Candidate(rank: Int32(truncatingIfNeeded: m >> 32), left: l, right: r,
                               leftID: a, rightID: b, merged: Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)))
    }

    /// BPE over the bytes of one pre-tokenized piece, appending its ids.
    func merge(_ bytes: UnsafeBufferPointer<UInt8>, _ piece: Range<Int>, _ w: inout Workspace, into ids: inout [Int32]) {
        w.symbol.removeAll(keepingCapacity: true)
        for i in piece {
            let s = byteSymbol[Int(bytes[i])]
            if s >= 0 { w.symbol.append(s) }
        }
        let n = w.symbol.count
        if n <= 1 { ids.append(contentsOf: w.symbol); return }
        w.next.removeAll(keepingCapacity: true)
        w.prev.removeAll(keepingCapacity: true)
        for i in 0..<n { w.next.append(i + 1 < n ? Int32(i + 1) : -1); w.prev.append(Int32(i - 1)) }
        w.queue.removeAll()
        for i in 0..<n - 1 { candidate(&w, Int32(i)) }
        while let c = w.queue.pop() {
            let l = Int(c.left), r = Int(c.right)
            guard w.symbol[l] == c.leftID, w.next[l] == c.right, w.symbol[r] == c.rightID else { continue }
            w.symbol[l] = c.merged
            w.symbol[r] = -1
            let after = w.next[r]
            w.next[l] = after
            if after >= 0 { w.prev[Int(after)] = c.left }
            if w.prev[l] >= 0 { candidate(&w, w.prev[l]) }
            candidate(&w, c.left)
        }
        var i: Int32 = 0
        while i >= 0 { ids.append(w.symbol[Int(i)]); i = w.next[Int(i)] }
    }

    public func bytes(of id: Int32) -> [UInt8] { decoded.bytes(id) }
    public func appendBytes(of id: Int32, to out: inout [UInt8]) { decoded.append(id, to: &out) }
    public func id(of tokenString: String) -> Int32? { lookup.id(of: tokenString) }
}

/// GPT-2's reversible byte -> printable character table: printable Latin-1 bytes map to
/// themselves, the rest to U+0100 onwards in byte order, so every byte sequence has a spelling
/// made of visible characters.
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
