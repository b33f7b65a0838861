/// The priority queue both merge loops (byte-level BPE and SentencePiece) run on: candidate
/// merges of adjacent symbols, best first.
///
/// Why a heap and not "scan for the best pair, merge, rescan": the scan is quadratic in the
/// length of a piece, and SentencePiece has no pre-tokenizer, so a whole paragraph is one piece.
/// With the heap a piece of n symbols costs O(n log n). Entries are never removed when the
/// symbols they name change; the loops check each popped entry against the current symbols
/// and drop stale ones (as HF tokenizers' `Word::merge_all` and llama.cpp both do).
struct MergeQueue<Element: Comparable> {
    private(set) var items: [Element] = []

    init() {}

    var isEmpty: Bool { items.isEmpty }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ e: Element) {
        items.append(e)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if !(items[i] < items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    /// The smallest element (the best merge).
    mutating func pop() -> Element? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < n && items[l] < items[m] { m = l }
                if r < n && items[r] < items[m] { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return top
    }
}
