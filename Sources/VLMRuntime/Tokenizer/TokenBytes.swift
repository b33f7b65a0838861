/// The bytes each token decodes to, computed once per vocabulary and kept in one arena.
///
/// Decoding and streaming then copy bytes instead of re-deriving them per token (byte-level
/// stand-in characters mapped back, "▁" turned into a space, `<0xNN>` parsed), and a 262k-token
/// vocabulary costs one array of bytes and one of offsets rather than a quarter-million arrays.
struct TokenBytes: Sendable {
    private let arena: [UInt8]
    /// Token i decodes to arena[offsets[i] ..< offsets[i + 1]].
    private let offsets: [Int32]

    init(_ tokens: [String], _ decode: (Int, String, inout [UInt8]) -> Void) {
        var arena: [UInt8] = []
        arena.reserveCapacity(tokens.count * 6)
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        for (i, t) in tokens.enumerated() {
            decode(i, t, &arena)
            offsets.append(Int32(arena.count))
        }
        self.arena = arena
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }

    @inline(__always)
    func append(_ id: Int32, to out: inout [UInt8]) {
        guard id >= 0, Int(id) < count else { return }
        out.append(contentsOf: arena[Int(offsets[Int(id)])..<Int(offsets[Int(id) + 1])])
    }

    func bytes(_ id: Int32) -> [UInt8] {
        var out: [UInt8] = []
        append(id, to: &out)
        return out
    }
}
