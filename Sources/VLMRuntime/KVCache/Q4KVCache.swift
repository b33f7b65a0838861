/// `q4`: the cache stored as llama.cpp q4_0 blocks.
///
/// Format: each token's key row and value row are cut, per kv head, into blocks of 32 values
/// along the row; a block is a Float16 scale d followed by 16 bytes of 4-bit codes. m is the
/// block's value of largest magnitude, with its sign; d = m / -8, codes q = round(x/d) + 8
/// clamped to 0...15, x ≈ d * (q - 8). Byte j holds code j in its low nibble and code j+16 in
/// its high nibble, as llama.cpp's `block_q4_0` (18 bytes per 32 values: 4.5 bits per value,
/// 0.28 of f16). A tail shorter than 32 makes a last block of (len+1)/2 code bytes, split the
/// same way at half its length. d is rounded to the Float16 of larger magnitude and the codes
/// use the rounded d, so m itself gets code 0 and every x has |x/d| <= 8.
///
/// Error: |x - x̂| <= |d|/2, except values of the sign opposite to m with |x/d| > 7.5 (the code
/// range is asymmetric, -8...+7), which clamp to 7d: error <= |d|.
///
/// Why: 0.28 of the f16 cache's memory with llama.cpp's well-known q4_0 accuracy; per-token
/// blocks need no residual buffer and truncate exactly.
public final class Q4KVCache: PackedKVCache {
    let store: RowPackedStore<Q4Codec>

    public init(shape: KVCacheShape) {
        store = RowPackedStore(shape: shape)
        super.init(store, typeName: "q4")
    }
}

/// q4_0 blocks of 32: Float16 d, then 16 bytes of paired nibbles; a last, shorter block for a tail.
enum Q4Codec: RowCodec {
    static let block = 32

    static func bytes(count n: Int) -> Int {
        let full = n / block, tail = n % block
        return full * (2 + block / 2) + (tail > 0 ? 2 + (tail + 1) / 2 : 0)
    }

    static func encode(_ x: UnsafePointer<Float>, count n: Int, to p: UnsafeMutableRawPointer) {
        var i = 0, off = 0
        while i < n {
            let len = min(block, n - i), half = (len + 1) / 2
            var amax: Float = 0, m: Float = 0
            for j in 0..<len where abs(x[i + j]) > amax { amax = abs(x[i + j]); m = x[i + j] }
            let d = Half.awayFromZero(m / -8)
            Half.store(d, p, off)
            let id: Float = d == 0 ? 0 : 1 / Float(d)
            let q = (p + off + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<half {
                q[j] = code(x[i + j] * id)
                if j + half < len { q[j] |= code(x[i + j + half] * id) << 4 }
            }
            i += len
            off += 2 + half
        }
    }

    /// round(v) + 8 clamped to 0...15 (llama.cpp: (int8)(v + 8.5) capped at 15).
    @inline(__always) static func code(_ v: Float) -> UInt8 {
        let c = v + 8.5
        return c > 0 ? (c < 15 ? UInt8(c) : 15) : 0
    }

    static func decode(_ p: UnsafeRawPointer, count n: Int, to y: UnsafeMutablePointer<Float>) {
        var i = 0, off = 0
        while i < n {
            let len = min(block, n - i), half = (len + 1) / 2
            let d = Half.load(p, off)
            if len == block {
                // A whole block: 16 bytes give codes 0..<16 (low nibbles) and 16..<32 (high).
                let qv = (p + off + 2).loadUnaligned(as: SIMD16<UInt8>.self)
                let lo = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: qv & 15)) - 8
                let hi = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: qv &>> 4)) - 8
                UnsafeMutableRawPointer(y + i).storeBytes(of: lo * d, as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(y + i + 16).storeBytes(of: hi * d, as: SIMD16<Float>.self)
                i += len
                off += 2 + half
                continue
            }
            let q = (p + off + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<half {
                y[i + j] = d * (Float(q[j] & 15) - 8)
                if j + half < len { y[i + j + half] = d * (Float(q[j] >> 4) - 8) }
            }
            i += len
            off += 2 + half
        }
    }
}
