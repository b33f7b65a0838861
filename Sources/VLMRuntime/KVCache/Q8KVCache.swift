/// `q8`: the cache stored as llama.cpp q8_0 blocks.
///
/// Format: each token's key row and value row are cut, per kv head, into blocks of 32 values
/// along the row; a block is a Float16 scale d followed by 32 Int8 codes q, and x ≈ d * q with
/// d = max|x| / 127 (34 bytes per 32 values: 8.5 bits per value, 0.53 of f16). A head whose
/// `headDim` is not a multiple of 32 ends in a shorter block with its own scale. The bytes of a
/// block are those of llama.cpp's `block_q8_0`; the one difference is that d is rounded up (not
/// to nearest) to Float16 and the codes are computed from the rounded d, so no code leaves
/// -127...127 and the error is at most half a stored step: |x - d*q| <= d/2.
///
/// Why: the simplest packed cache, almost lossless (relative error <= 1/254 of the block's
/// largest value), and a baseline for the lower-bit formats. Per-token blocks need no residual
/// buffer and truncate exactly.
public final class Q8KVCache: PackedKVCache {
    let store: RowPackedStore<Q8Codec>

    public init(shape: KVCacheShape) {
        store = RowPackedStore(shape: shape)
        super.init(store, typeName: "q8")
    }
}

/// q8_0 blocks of 32: Float16 d, then 32 Int8; a last, shorter block for a tail.
enum Q8Codec: RowCodec {
    static let block = 32

    static func bytes(count n: Int) -> Int { 2 * ((n + block - 1) / block) + n }

    static func encode(_ x: UnsafePointer<Float>, count n: Int, to p: UnsafeMutableRawPointer) {
        var i = 0, off = 0
        while i < n {
            let len = min(block, n - i)
            var amax: Float = 0
            for j in 0..<len { amax = max(amax, abs(x[i + j])) }
            let d = Half.up(amax / 127)
            Half.store(d, p, off)
            let id: Float = d == 0 ? 0 : 1 / Float(d)
            let q = (p + off + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<len {
                let v = (x[i + j] * id).rounded()
                q[j] = UInt8(bitPattern: Int8(v > -127 ? (v < 127 ? v : 127) : -127))
            }
            i += len
            off += 2 + len
        }
    }

    static func decode(_ p: UnsafeRawPointer, count n: Int, to y: UnsafeMutablePointer<Float>) {
        var i = 0, off = 0
        while i < n {
            let len = min(block, n - i)
            let d = Half.load(p, off)
            let q = (p + off + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<len { y[i + j] = d * Float(Int8(bitPattern: q[j])) }
            i += len
            off += 2 + len
        }
    }
}
