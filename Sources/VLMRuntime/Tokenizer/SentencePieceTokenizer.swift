/// SentencePiece-style BPE as Gemma and Llama 2 GGUFs store it (`tokenizer.ggml.model` "llama"),
/// reproducing transformers' tokenizer for the same file:
///
/// 1. Special and user-defined tokens written in the text are cut out first (`<start_of_turn>`,
///    Gemma's `\n`, `\n\n`, tab runs, `<b>`...).
/// 2. Spaces become "▁" (U+2581). There is no other pre-tokenization: a whole paragraph is one
///    piece. A "▁" is put in front only when `addSpacePrefix` is set and the text starts the input
///    (Llama 2's dummy prefix; Gemma 3 has none).
/// 3. Each Unicode scalar (not Swift Character: an emoji ZWJ sequence or "e" + combining accent is
///    several) starts as a symbol. Adjacent symbols whose joined spelling is a token merge, the
///    best token first (`SentencePieceMerges`: highest score, or earliest in the vocabulary for
///    Gemma); among merges into the same token the one with the longer left part first (the
///    order transformers' `generate_merges` gives them); then leftmost.
/// 4. A symbol that is no token (a character outside the vocabulary) becomes its UTF-8 bytes as
///    byte-fallback tokens `<0xNN>`, or the unknown token when those are missing.
///
/// llama.cpp's SPM tokenizer agrees except on runs of spaces (it matches the stored "  " tokens
/// in the raw text, longest first, where transformers merges "▁▁"): 40 spaces are 31 + 9 there
/// and 16 + 24 here.
public final class SentencePieceTokenizer: Tokenizer, Sendable {
    public let vocabulary: TokenizerVocabulary
    let specials: SpecialTokenSplitter
    /// Spellings the merges look up: the vocabulary's, with Gemma's space runs respelled "▁▁".
    let lookup: TokenLookup
    /// Merge priority of each token, lower first.
    let rank: [Float]
    /// Token id of each byte-fallback token <0x00>...<0xFF>, or -1.
    let byteToken: [Int32]
    let decoded: TokenBytes
    /// Gemma's space-run tokens by their stored spelling, and their ids.
    let respelled: [String: Int32]
    let respelledIDs: Set<Int32>
    public let eosIDs: Set<Int32>

    public init(_ v: TokenizerVocabulary) throws {
        guard v.model == .sentencePiece else { throw VLMError.usage("SentencePieceTokenizer needs a SentencePiece vocabulary") }
        try v.validate(source: "vocabulary")
        vocabulary = v
        let gemma = v.sentencePieceMerges == .gemma
        var respelledSet = Set<Int>()
        var spellings = v.tokens
        if gemma {
            for (i, t) in v.tokens.enumerated() where t.unicodeScalars.contains(" ")
                && t.unicodeScalars.allSatisfy({ pythonIsSpace($0) }) {
                spellings[i] = String(repeating: "\u{2581}", count: t.unicodeScalars.count)
                respelledSet.insert(i)
            }
        }
        specials = SpecialTokenSplitter(vocabulary: v, excluding: { respelledSet.contains($0) })
        self.respelled = Dictionary(respelledSet.map { (v.tokens[$0], Int32($0)) }, uniquingKeysWith: min)
        respelledIDs = Set(respelledSet.map(Int32.init))
        lookup = TokenLookup(tokens: spellings)
        rank = gemma ? v.tokens.indices.map { Float($0) } : v.scores.map { -$0 }
        var bytes = [Int32](repeating: -1, count: 256)
        for (i, t) in v.tokens.enumerated() where v.types[i] == .byte {
            if let b = Self.byteValue(t), bytes[Int(b)] < 0 { bytes[Int(b)] = Int32(i) }
        }
        byteToken = bytes
        decoded = TokenBytes(v.tokens) { i, token, out in
            if v.types[i] == .byte, let b = Self.byteValue(token) { out.append(b); return }
            for s in token.unicodeScalars {
                if s == "\u{2581}" { out.append(0x20) } else { out.append(contentsOf: String(s).utf8) }
            }
        }
        eosIDs = v.endOfGenerationIDs
    }

    /// The byte of a "<0xNN>" token.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16)
    }

    public func encode(_ text: String, addSpecial: Bool) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial, vocabulary.addBOS, let bos = vocabulary.bosID { ids.append(bos) }
        var work = Workspace()
        var t = text
        t.withUTF8 { bytes in
            specials.split(bytes, 0..<bytes.count, text: { run in
                encodeRun(bytes, run, prefixSpace: vocabulary.addSpacePrefix && run.lowerBound == 0, &work, into: &ids)
            }, special: { ids.append($0) })
        }
        if addSpecial, vocabulary.addEOS, let eos = vocabulary.eosID { ids.append(eos) }
        return ids
    }

    /// Reused buffers: the normalized text and its symbols as a doubly linked list of spans.
    struct Workspace {
        var text: [UInt8] = []
        var start: [Int32] = [], length: [Int32] = [], chars: [Int32] = [], id: [Int32] = []
        var next: [Int32] = [], prev: [Int32] = []
        var queue = MergeQueue<Candidate>()
    }

    /// Merging the symbols at `left` and `right` (`size` bytes together) into `merged`.
    struct Candidate: Comparable {
        var rank: Float, leftChars: Int32, left: Int32, right: Int32, size: Int32, merged: Int32
        static func < (a: Candidate, b: Candidate) -> Bool {
            if a.rank != b.rank { return a.rank < b.rank }
            if a.leftChars != b.leftChars { return a.leftChars > b.leftChars }
            return a.left < b.left
        }
        static func == (a: Candidate, b: Candidate) -> Bool {
            a.rank == b.rank && a.leftChars == b.leftChars && a.left == b.left
        }
    }

    @inline(__always)
    func candidate(_ w: inout Workspace, _ l: Int32) {
        let r = w.next[Int(l)]
        guard r >= 0, w.id[Int(l)] >= 0, w.id[Int(r)] >= 0 else { return }
        let a = Int(w.start[Int(l)]), size = Int(w.length[Int(l)] + w.length[Int(r)])
        let merged = w.text.withUnsafeBufferPointer { lookup.id($0, a..<a + size) }
        guard let m = merged else { return }
        w.queue.push(Candidate(rank: rank[Int(m)], leftChars: w.chars[Int(l)], left: l, right: r,
                               size: Int32(size), merged: m))
    }

    func encodeRun(_ bytes: UnsafeBufferPointer<UInt8>, _ run: Range<Int>, prefixSpace: Bool,
                   _ w: inout Workspace, into ids: inout [Int32]) {
        // Normalize: " " -> "▁" (E2 96 81).
        w.text.removeAll(keepingCapacity: true)
        if prefixSpace { w.text.append(contentsOf: [0xE2, 0x96, 0x81]) }
        for i in run {
            if bytes[i] == 0x20 { w.text.append(contentsOf: [0xE2, 0x96, 0x81]) } else { w.text.append(bytes[i]) }
        }
        // One symbol per scalar.
        w.start.removeAll(keepingCapacity: true); w.length.removeAll(keepingCapacity: true)
        w.chars.removeAll(keepingCapacity: true); w.id.removeAll(keepingCapacity: true)
        w.next.removeAll(keepingCapacity: true); w.prev.removeAll(keepingCapacity: true)
        let total = w.text.count
        w.text.withUnsafeBufferPointer { t in
            var i = 0
            while i < total {
                let b = t[i]
                let n = min(b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4, total - i)
                w.start.append(Int32(i)); w.length.append(Int32(n)); w.chars.append(1)
                w.id.append(lookup.id(t, i..<i + n) ?? -1)
                i += n
            }
        }
        let n = w.start.count
        if n == 0 { return }
        for i in 0..<n { w.next.append(i + 1 < n ? Int32(i + 1) : -1); w.prev.append(Int32(i - 1)) }
        w.queue.removeAll()
        for i in 0..<n - 1 { candidate(&w, Int32(i)) }
        while let c = w.queue.pop() {
            let l = Int(c.left), r = Int(c.right)
            guard w.length[l] > 0, w.next[l] == c.right, w.length[l] + w.length[r] == c.size else { continue }
            w.length[l] = c.size
            w.chars[l] += w.chars[r]
            w.id[l] = c.merged
            w.length[r] = 0
            let after = w.next[r]
            w.next[l] = after
            if after >= 0 { w.prev[Int(after)] = c.left }
            if w.prev[l] >= 0 { candidate(&w, w.prev[l]) }
            candidate(&w, c.left)
        }
        var i = 0
        while i >= 0 {
            if w.id[i] >= 0 {
                ids.append(w.id[i])
            } else {
                let a = Int(w.start[i]), e = a + Int(w.length[i])
                if w.text[a..<e].allSatisfy({ byteToken[Int($0)] >= 0 }) {
                    for k in a..<e { ids.append(byteToken[Int(w.text[k])]) }
                } else if let unk = vocabulary.unknownID {
                    ids.append(unk)
                }
            }
            i = Int(w.next[i])
        }
    }

    /// HF's decoder for these vocabularies: "▁" -> " ", then byte-fallback tokens joined into
    /// characters; a run of byte tokens that is not valid UTF-8 becomes one U+FFFD per byte.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) -> String {
        var out: [UInt8] = [], run: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        func flushRun() {
            if run.isEmpty { return }
            if isValidUTF8(run) { out += run } else {
                for _ in run { out += [0xEF, 0xBF, 0xBD] }
            }
            run.removeAll(keepingCapacity: true)
        }
        for id in ids where id >= 0 && Int(id) < vocabulary.tokens.count {
            if skipSpecialTokens && isControl(id) { continue }
            if vocabulary.types[Int(id)] == .byte, Self.byteValue(vocabulary.tokens[Int(id)]) != nil {
                decoded.append(id, to: &run)
            } else {
                flushRun()
                decoded.append(id, to: &out)
            }
        }
        flushRun()
        var text = String(decoding: out, as: UTF8.self)
        // The dummy prefix is not part of the text (HF's Metaspace decoder drops it).
        if vocabulary.addSpacePrefix, text.utf8.first == 0x20 { text.removeFirst() }
        return text
    }

    public func bytes(of id: Int32) -> [UInt8] { decoded.bytes(id) }
    public func appendBytes(of id: Int32, to out: inout [UInt8]) { decoded.append(id, to: &out) }
    /// By the vocabulary's own spelling ("  " for Gemma's two-space token, not the "▁▁" merges use).
    public func id(of tokenString: String) -> Int32? {
        if let id = respelled[tokenString] { return id }
        guard let id = lookup.id(of: tokenString), !respelledIDs.contains(id) else { return nil }
        return id
    }
}

/// Python's `str.isspace` for one scalar (Jinja's `trim` and transformers' respelling use it):
/// the Unicode White_Space characters plus the information separators U+001C...U+001F.
@inline(__always)
func pythonIsSpace(_ c: Unicode.Scalar) -> Bool {
    c.properties.isWhitespace || (0x1C...0x1F).contains(c.value)
}

/// Whether `bytes` is valid UTF-8 (`String(decoding:)` repairs invalid input silently).
func isValidUTF8(_ bytes: [UInt8]) -> Bool {
    var iterator = bytes.makeIterator()
    var decoder = UTF8()
    while true {
        switch decoder.decode(&iterator) {
        case .scalarValue: continue
        case .emptyInput: return true
        case .error: return false
        }
    }
}
