#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The packed caches can hand back what they hold, dequantized (tests; `truncate` of the
/// grouped formats).
protocol ReconstructibleKVCache: KVCache {
    /// The dequantized key and value rows (`kvWidth` floats each, channel order) of one cached token.
    func reconstruct(layer: Int, position: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)
}

/// What a packed format's storage does; the caches below are thin names over one of these.
protocol PackedStore: AnyObject {
    var shape: KVCacheShape { get }
    var storedBytes: Int { get }
    func count(layer: Int) -> Int
    func append(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens: Int) throws
    func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
                output: UnsafeMutablePointer<Float>)
    func truncate(to position: Int)
    func reconstruct(layer: Int, position: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>)
}

/// The `KVCache` protocol over a packed store, written once for q8, q4, kivi2 and vidkv: each
/// of those is a subclass that chooses its store (the format) and its name, and documents the
/// format. Not subclassable outside the module.
///
/// Every store stores an append packed at once, but the queries of the tokens that appended it
/// read those rows exact (`FreshRows`): a prefill attends to the prompt at full precision and
/// each decode step to its own token, while everything earlier is read from the packed format.
public class PackedKVCache: KVCache, ReconstructibleKVCache {
    private let packed: any PackedStore
    public let typeName: String

    init(_ packed: any PackedStore, typeName: String) {
        self.packed = packed
        self.typeName = typeName
    }

    public var shape: KVCacheShape { packed.shape }
    public func count(layer: Int) -> Int { packed.count(layer: layer) }
    /// The packed bytes: codes, scales and whatever the format keeps unquantized.
    public var storedBytes: Int { packed.storedBytes }

    public func append(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens: Int) throws {
        try packed.append(layer: layer, keys: keys, values: values, tokens: tokens)
    }
    public func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
                       output: UnsafeMutablePointer<Float>) {
        packed.attend(layer: layer, queries: queries, tokens: tokens, scale: scale, mask: mask, output: output)
    }
    public func truncate(to position: Int) { packed.truncate(to: position) }
    func reconstruct(layer: Int, position: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        packed.reconstruct(layer: layer, position: position, keys: keys, values: values)
    }
}

// MARK: - Per-token formats (q8, q4)

/// A format that packs each token's key (or value) row of one kv head on its own.
protocol RowCodec {
    /// Bytes of one packed row of `count` values.
    static func bytes(count: Int) -> Int
    static func encode(_ x: UnsafePointer<Float>, count: Int, to p: UnsafeMutableRawPointer)
    static func decode(_ p: UnsafeRawPointer, count: Int, to y: UnsafeMutablePointer<Float>)
}
