#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Storage shared by the per-token formats: per layer, contiguous [token][kvHead][packed row]
/// key and value buffers. Truncation is exact (whole rows are dropped).
final class RowPackedStore<C: RowCodec>: PackedStore {
    let shape: KVCacheShape
    /// Bytes of one kv head's packed row, and of one token (all kv heads).
    let headBytes: Int, rowBytes: Int
    private let keys: [GrowableBuffer<UInt8>]
    private let values: [GrowableBuffer<UInt8>]
    private let fresh: [FreshRows]

    init(shape: KVCacheShape) {
        self.shape = shape
        headBytes = C.bytes(count: shape.headDim)
        rowBytes = headBytes * shape.kvHeads
        keys = (0..<shape.layers).map { _ in GrowableBuffer() }
        values = (0..<shape.layers).map { _ in GrowableBuffer() }
        fresh = (0..<shape.layers).map { _ in FreshRows() }
    }

    func count(layer: Int) -> Int { rowBytes == 0 ? 0 : keys[layer].count / rowBytes }

    var storedBytes: Int { keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count } }

    func append(layer: Int, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
                tokens: Int) throws {
        let old = count(layer: layer)
        guard old + tokens <= shape.capacity else {
            throw VLMError.usage("the sequence needs \(old + tokens) tokens, over the context limit of \(shape.capacity)")
        }
        fresh[layer].set(start: old, keys: newKeys, values: newValues, tokens: tokens, width: shape.kvWidth)
        let kd = UnsafeMutableRawPointer(keys[layer].extend(by: tokens * rowBytes))
        let vd = UnsafeMutableRawPointer(values[layer].extend(by: tokens * rowBytes))
        let hd = shape.headDim, kvw = shape.kvWidth, heads = shape.kvHeads
        let rb = rowBytes, hb = headBytes
        Parallel.forRange(tokens, minChunk: 64) { s, e in
            for t in s..<e {
                for h in 0..<heads {
                    C.encode(newKeys + t * kvw + h * hd, count: hd, to: kd + t * rb + h * hb)
                    C.encode(newValues + t * kvw + h * hd, count: hd, to: vd + t * rb + h * hb)
                }
            }
        }
    }

    func truncate(to position: Int) {
        let keep = max(0, position) * rowBytes
        for l in 0..<shape.layers {
            fresh[l].clear()
            keys[l].shrink(to: keep)
            values[l].shrink(to: keep)
        }
    }

    func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
                output: UnsafeMutablePointer<Float>) {
        let source = RowTileSource<C>(keys: UnsafeRawPointer(keys[layer].base),
                                      values: UnsafeRawPointer(values[layer].base),
                                      headDim: shape.headDim, headBytes: headBytes, rowBytes: rowBytes)
        fresh[layer].attend(source, shape: shape, cached: count(layer: layer), queries: queries, tokens: tokens,
                            scale: scale, mask: mask, output: output)
    }

    /// The dequantized key and value rows (`kvWidth` floats each) of one cached token (tests).
    func reconstruct(layer: Int, position: Int, keys k: UnsafeMutablePointer<Float>, values v: UnsafeMutablePointer<Float>) {
        let kb = UnsafeRawPointer(keys[layer].base) + position * rowBytes
        let vb = UnsafeRawPointer(values[layer].base) + position * rowBytes
        for h in 0..<shape.kvHeads {
            C.decode(kb + h * headBytes, count: shape.headDim, to: k + h * shape.headDim)
            C.decode(vb + h * headBytes, count: shape.headDim, to: v + h * shape.headDim)
        }
    }
}

struct RowTileSource<C: RowCodec>: KVTileSource {
    let keys: UnsafeRawPointer, values: UnsafeRawPointer
    let headDim: Int, headBytes: Int, rowBytes: Int

    func loadKeys(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>, queryRows: Int) -> Bool {
        let base = keys + start * rowBytes + kvHead * headBytes
        for i in 0..<count { C.decode(base + i * rowBytes, count: headDim, to: dst + i * headDim) }
        return false
    }
    func mapQueries(kvHead: Int, start: Int, _ queries: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>) {
        dst.update(from: queries, count: rows * headDim)
    }
    func loadValues(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        let base = values + start * rowBytes + kvHead * headBytes
        for i in 0..<count { C.decode(base + i * rowBytes, count: headDim, to: dst + i * headDim) }
    }
}

// MARK: - Grouped formats with a full-precision residual (KIVI, VidKV)

/// A format that quantizes groups of `GroupedStore.groupSize` consecutive tokens of one kv head
/// together (per-channel statistics over the group's tokens).
protocol GroupCodec {
    var headDim: Int { get }
    /// Bytes of one (group, kv head) key block and value block.
    var keyBlockBytes: Int { get }
    var valueBlockBytes: Int { get }
    /// Bytes of one protected token's value row of one kv head; 0 when the format has no
    /// token protection.
    var protectedRowBytes: Int { get }

    /// Packs 32 rows (`stride` apart) of one kv head's keys.
    func encodeKeys(_ x: UnsafePointer<Float>, stride: Int, to block: UnsafeMutableRawPointer)
    /// Packs 32 rows of values; rows whose bit is set in `protectedMask` go, in order, to
    /// `protectedRows` (`protectedStride` bytes apart) instead.
    func encodeValues(_ x: UnsafePointer<Float>, stride: Int, protectedMask: UInt32, to block: UnsafeMutableRawPointer,
                      protectedRows: UnsafeMutableRawPointer?, protectedStride: Int)
    /// The first `count` key rows of a block, in the basis the codec picks (see `KVTileSource`).
    func decodeKeys(_ block: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>, queryRows: Int) -> Bool
    func mapQueries(_ block: UnsafeRawPointer, _ queries: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>)
    /// The first `count` key rows of a block in channel order.
    func decodeKeysToChannels(_ block: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>)
    func decodeValues(_ block: UnsafeRawPointer, count: Int, protectedMask: UInt32, protectedRows: UnsafeRawPointer?,
                      protectedStride: Int, into dst: UnsafeMutablePointer<Float>)
}
