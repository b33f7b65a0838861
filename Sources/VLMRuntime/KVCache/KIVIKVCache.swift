/// `kivi2`: KIVI's 2-bit cache (Liu et al. 2024, "KIVI: A Tuning-Free Asymmetric 2bit
/// Quantization for KV Cache").
///
/// Format, per layer and kv head:
/// - Keys per channel: each group of 32 consecutive tokens stores, for every channel, a Float16
///   min and a Float16 scale (asymmetric min-max over the group's 32 values of that channel) and
///   32 2-bit codes, x̂ = min + scale * code. Block layout: mins[headDim], scales[headDim], then
///   the codes token-major (token t's codes in bytes t*ceil(headDim/4)..., channel c at bits
///   2*(c%4) of byte c/4). 3 bits per value (2 + 32 bits of min and scale per 32 values).
/// - Values per token: each token row is cut into groups of 32 channels, each with its own
///   Float16 min and scale and 2-bit codes (`TwoBitRows`); also 3 bits per value.
/// - The most recent tokens stay unquantized in a Float16 residual buffer (128 by default):
///   whole 32-token groups are quantized as they leave it (see `GroupedStore`).
///
/// The stored min is rounded down and the scale up to Float16, so every value lies in
/// [min, min + 3*scale] and |x - x̂| <= scale/2 for keys and values alike.
///
/// Why: keys have outlier channels (a few channels carry large magnitudes for every token),
/// which per-channel key groups isolate; values have no such structure and errors in them mix
/// per token, so per-token groups suit them. 6 bits per key+value pair against 32 for f16 (0.19),
/// plus the residual.
public final class KIVIKVCache: PackedKVCache {
    let store: GroupedStore<KIVICodec>

    /// `residual`: recent tokens kept in Float16 (KIVI uses 32...128). `sink`: leading tokens kept in
    /// Float16, 0 or a multiple of 32 (see `GroupedStore`; the published format has none).
    public init(shape: KVCacheShape, residual: Int = 128, sink: Int = 32) {
        store = GroupedStore(shape: shape, codec: KIVICodec(headDim: shape.headDim), residual: residual, sink: sink)
        super.init(store, typeName: "kivi2")
    }
}

struct KIVICodec: GroupCodec {
    static let groupTokens = 32
    let headDim: Int

    /// Bytes of one token's key codes in a key block.
    var keyCodeRowBytes: Int { (headDim + 3) / 4 }
    var keyScaleOffset: Int { 2 * headDim }
    var keyCodeOffset: Int { 4 * headDim }
    var valueRowBytes: Int { TwoBitRows.bytes(count: headDim) }

    var keyBlockBytes: Int { keyCodeOffset + Self.groupTokens * keyCodeRowBytes }
    var valueBlockBytes: Int { Self.groupTokens * valueRowBytes }
    var protectedRowBytes: Int { 0 }

    func encodeKeys(_ x: UnsafePointer<Float>, stride: Int, to b: UnsafeMutableRawPointer) {
        let n = Self.groupTokens, hd = headDim, rb = keyCodeRowBytes
        let codes = (b + keyCodeOffset).assumingMemoryBound(to: UInt8.self)
        codes.update(repeating: 0, count: n * rb)
        for c in 0..<hd {
            var lo = x[c], hi = x[c]
            for t in 0..<n { let v = x[t * stride + c]; lo = min(lo, v); hi = max(hi, v) }
            let (mn, sc) = MinMax2.params(min: lo, max: hi)
            Half.store(mn, b, 2 * c)
            Half.store(sc, b, keyScaleOffset + 2 * c)
            let mnF = Float(mn), inv = MinMax2.inverse(sc)
            let shift = UInt8(2 * (c & 3))
            for t in 0..<n {
                codes[t * rb + (c >> 2)] |= MinMax2.code(x[t * stride + c], min: mnF, inverseScale: inv) << shift
            }
        }
    }

    func encodeValues(_ x: UnsafePointer<Float>, stride: Int, protectedMask: UInt32, to b: UnsafeMutableRawPointer,
                      protectedRows: UnsafeMutableRawPointer?, protectedStride: Int) {
        for t in 0..<Self.groupTokens {
            TwoBitRows.encode(x + t * stride, count: headDim, to: b + t * valueRowBytes)
        }
    }

    func decodeKeys(_ b: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>, queryRows: Int) -> Bool {
        decodeKeysToChannels(b, count: n, into: dst)
        return false
    }

    func mapQueries(_ block: UnsafeRawPointer, _ queries: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>) {
        dst.update(from: queries, count: rows * headDim)
    }

    func decodeKeysToChannels(_ b: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>) {
        let hd = headDim, rb = keyCodeRowBytes
        let codes = (b + keyCodeOffset).assumingMemoryBound(to: UInt8.self)
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * hd) { buf in
            let mn = buf.baseAddress!, sc = mn + hd
            for c in 0..<hd { mn[c] = Half.load(b, 2 * c); sc[c] = Half.load(b, keyScaleOffset + 2 * c) }
            for t in 0..<n {
                CodeTables.decodeTwoBit(codes + t * rb, min: mn, scale: sc, count: hd, into: dst + t * hd)
            }
        }
    }

    func decodeValues(_ b: UnsafeRawPointer, count n: Int, protectedMask: UInt32, protectedRows: UnsafeRawPointer?,
                      protectedStride: Int, into dst: UnsafeMutablePointer<Float>) {
        for t in 0..<n { TwoBitRows.decode(b + t * valueRowBytes, count: headDim, to: dst + t * headDim) }
    }
}
