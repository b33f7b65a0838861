/// Finds special and added tokens written literally in text (`<|im_start|>`, `<start_of_turn>`,
/// `<image>`, Gemma's `\n\n` and `<b>`), so that they become their own ids and the text between
/// them is tokenized normally. This is HF tokenizers' added-vocabulary split and llama.cpp's
/// `tokenizer_st_partition` with parse_special=true.
///
/// Matching is leftmost-longest over UTF-8 bytes (HF's Aho-Corasick `LeftmostLongest`): at the
/// first position where any token starts, the longest token there wins. A byte trie makes the
/// common case cheap: a position whose byte starts no special token costs one table read, and
/// Gemma's ~6,400 control tokens (all starting with "<") are walked, not scanned one by one.
struct SpecialTokenSplitter: Sendable {
    /// Child node per (node, byte), for every node but the root.
    private let edges: [UInt32: Int32]
    /// The root's children by first byte (-1: no token starts with that byte).
    private let rootChild: [Int32]
    /// Token id ending at each node, or -1.
    private let terminal: [Int32]
    let isEmpty: Bool

    /// `tokens`: (spelling, id) pairs; an empty spelling is ignored, the first id of a spelling wins.
    init(_ tokens: [(String, Int32)]) {
        var edges: [UInt32: Int32] = [:]
        var root = [Int32](repeating: -1, count: 256)
        var terminal: [Int32] = [-1]   // node 0 is the root
        for (spelling, id) in tokens where !spelling.isEmpty {
            var node: Int32 = 0
            for (k, b) in spelling.utf8.enumerated() {
                if k == 0 {
                    if root[Int(b)] < 0 { root[Int(b)] = Int32(terminal.count); terminal.append(-1) }
                    node = root[Int(b)]
                } else {
                    let key = UInt32(node) << 8 | UInt32(b)
                    if let next = edges[key] { node = next } else {
                        let next = Int32(terminal.count)
                        terminal.append(-1)
                        edges[key] = next
                        node = next
                    }
                }
            }
            if terminal[Int(node)] < 0 { terminal[Int(node)] = id }
        }
        self.edges = edges
        self.rootChild = root
        self.terminal = terminal
        self.isEmpty = terminal.count == 1
    }

    /// The special tokens of a vocabulary, by their stored spellings.
    init(vocabulary v: TokenizerVocabulary, excluding: (Int) -> Bool = { _ in false }) {
        self.init(v.specialTokenIDs.filter { !excluding(Int($0)) }.map { (v.tokens[Int($0)], $0) })
    }

    /// Longest special token starting at `i`: its id and end.
    @inline(__always)
    func match(_ bytes: UnsafeBufferPointer<UInt8>, at i: Int, end: Int) -> (id: Int32, end: Int)? {
        var node = rootChild[Int(bytes[i])]
        if node < 0 { return nil }
        var best: (Int32, Int)? = terminal[Int(node)] >= 0 ? (terminal[Int(node)], i + 1) : nil
        var j = i + 1
        while j < end, let next = edges[UInt32(node) << 8 | UInt32(bytes[j])] {
            node = next
            j += 1
            if terminal[Int(node)] >= 0 { best = (terminal[Int(node)], j) }
        }
        return best
    }

    /// Walks `bytes[range]`, handing each stretch of ordinary text to `text` and each special
    /// token to `special`, in order.
    @inline(__always)
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
               text: (Range<Int>) -> Void, special: (Int32) -> Void) {
        var runStart = range.lowerBound, i = range.lowerBound
        let end = range.upperBound
        if !isEmpty {
            while i < end {
                if let (id, stop) = match(bytes, at: i, end: end) {
                    if runStart < i { text(runStart..<i) }
                    special(id)
                    i = stop
                    runStart = i
                } else {
                    i += 1
                }
            }
        }
        if runStart < end { text(runStart..<end) }
    }
}
