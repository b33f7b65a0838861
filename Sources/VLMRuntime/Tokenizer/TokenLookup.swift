#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Token spellings to ids, compared as exact UTF-8 bytes.
///
/// Why not `[String: Int32]`: Swift's String equality and hashing follow canonical equivalence,
/// so "e\u{301}" finds the precomposed "é" token, while tokenizers (HF's and SentencePiece) compare
/// bytes. And the merge loops look up spans of a text buffer millions of times per second; a
/// lookup by pointer and length needs no String built per probe.
///
/// Layout: every spelling lives in one byte arena; an open-addressing table (linear probing,
/// load factor <= 1/2) holds entry numbers. When a vocabulary lists a spelling twice, the first
/// id wins (as llama.cpp's token-to-id map keeps it).
struct TokenLookup: Sendable {
    private var arena: [UInt8] = []
    /// Entry i spans arena[starts[i] ..< starts[i + 1]].
    private var starts: [Int32] = [0]
    private var ids: [Int32] = []
    private var hashes: [UInt32] = []
    /// Entry number + 1 per slot; 0 is an empty slot.
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        arena.reserveCapacity(capacity * 8)
        starts.reserveCapacity(capacity + 1)
        ids.reserveCapacity(capacity)
        hashes.reserveCapacity(capacity)
    }

    /// All tokens of a vocabulary, each under its own spelling.
    init(tokens: [String]) {
        self.init(capacity: tokens.count)
        for (i, t) in tokens.enumerated() { insert(t, id: Int32(i)) }
    }

    var count: Int { ids.count }

    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt32 {
        // FNV-1a: token spellings are short, so a byte loop is as fast as anything wider.
        var h: UInt32 = 2_166_136_261
        for b in p { h = (h ^ UInt32(b)) &* 16_777_619 }
        return h
    }

    /// Adds `spelling` unless it is already present (the first id wins).
    mutating func insert(_ spelling: String, id: Int32) {
        var s = spelling
        s.withUTF8 { insert(UnsafeRawBufferPointer($0), id: id) }
    }

    mutating func insert(_ bytes: UnsafeRawBufferPointer, id: Int32) {
        if self.id(bytes) != nil { return }
        if (ids.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(bytes)
        arena.append(contentsOf: bytes)
        starts.append(Int32(arena.count))
        ids.append(id)
        hashes.append(h)
        place(entry: ids.count - 1, hash: h)
    }

    private mutating func place(entry: Int, hash h: UInt32) {
        var i = Int(h) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = Int32(entry + 1)
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        mask = slots.count - 1
        for e in 0..<ids.count { place(entry: e, hash: hashes[e]) }
    }

    /// The id spelled exactly by `bytes`.
    @inline(__always)
    func id(_ bytes: UnsafeRawBufferPointer) -> Int32? {
        let h = Self.hash(bytes)
        return slots.withUnsafeBufferPointer { slots in
            arena.withUnsafeBytes { arena in
                starts.withUnsafeBufferPointer { starts in
                    var i = Int(h) & mask
                    while true {
                        let e = Int(slots[i])
                        if e == 0 { return nil }
                        let a = Int(starts[e - 1]), b = Int(starts[e])
                        if b - a == bytes.count && hashes[e - 1] == h
                            && (bytes.count == 0 || memcmp(arena.baseAddress! + a, bytes.baseAddress!, bytes.count) == 0) {
                            return ids[e - 1]
                        }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    /// The id spelled exactly by `bytes[range]`.
    @inline(__always)
    func id(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int32? {
        id(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[range])))
    }

    func id(of spelling: String) -> Int32? {
        var s = spelling
        return s.withUTF8 { id(UnsafeRawBufferPointer($0)) }
    }
}
