/// A bounds-checked little-endian cursor over untrusted bytes. Every read checks that the bytes
/// exist first, so a truncated or hostile file produces an error, never an out-of-bounds load.
struct ByteReader {
    let base: UnsafeRawPointer
    let size: Int
    private(set) var offset = 0
    let source: String

    init(base: UnsafeRawPointer, size: Int, source: String) {
        self.base = base; self.size = size; self.source = source
    }

    var remaining: Int { size - offset }

    func fail(_ what: String) -> VLMError { .badInput("\(source): \(what) (at byte \(offset))") }

    mutating func need(_ n: Int, _ what: String) throws {
        guard n >= 0, n <= remaining else { throw fail("truncated while reading \(what)") }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return v
    }

    mutating func readFloat32(_ what: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what))
    }

    mutating func readFloat64(_ what: String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what))
    }

    /// A count or length stored as u64, checked against `limit` and against the bytes left
    /// (each element needs at least `minElementBytes`), before anything is allocated from it.
    mutating func readCount(_ what: String, minElementBytes: Int, limit: Int = 1 << 40) throws -> Int {
        let raw = try read(UInt64.self, what)
        guard raw <= UInt64(limit) else { throw fail("\(what) \(raw) is absurd") }
        let n = Int(raw)
        guard minElementBytes == 0 || n <= remaining / minElementBytes else {
            throw fail("\(what) \(n) does not fit in the \(remaining) bytes left")
        }
        return n
    }

    mutating func readString(_ what: String) throws -> String {
        let n = try readCount("length of \(what)", minElementBytes: 1)
        let bytes = UnsafeRawBufferPointer(start: base + offset, count: n)
        offset += n
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func align(to alignment: Int) {
        offset = (offset + alignment - 1) / alignment * alignment
    }
}
