/// The key/value cache of a decoder, and the attention that reads it.
///
/// Attention is a method of the cache, not a free function, because later storage types
/// (q8/q4 blocks, KIVI, VidKV, pruned caches; see ../shared/REDUCERS.md) must read their own
/// packed formats block by block and never hold a dequantized copy. Every cache stores, per
/// layer, one key row and one value row of `kvHeads * headDim` floats per cached token.
public protocol KVCache: AnyObject {
    /// The geometry this cache was made for.
    var shape: KVCacheShape { get }
    /// Tokens cached in `layer` so far (all layers agree after a full forward pass).
    func count(layer: Int) -> Int
    /// Bytes the cache holds as stored (packed data plus scales), for `kv_cache_bytes`.
    var storedBytes: Int { get }
    /// Short name for reports ("f32", "f16", ...).
    var typeName: String { get }

    /// Appends `tokens` rows of keys and values (each row `shape.kvWidth` floats) to `layer`.
    func append(layer: Int, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, tokens: Int) throws

    /// Attention of `tokens` query rows (row stride `shape.queryWidth`: `heads * headDim`)
    /// against everything cached in `layer`, query row t sitting at cache position
    /// `count - tokens + t`, each seeing the keys `mask` allows (causal, a sliding window,
    /// bidirectional runs). Writes `tokens` rows of `heads * headDim` to `output`.
    func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float,
                mask: AttentionMask, output: UnsafeMutablePointer<Float>)

    /// Drops every cached token at and after `position` (for re-use across prompts sharing a
    /// prefix, and for rewinding).
    func truncate(to position: Int)

    /// The share of a prompt's visual tokens this cache keeps at higher precision once told
    /// which ones the text relates to most (VidKV's semantic token protection); 0 for caches
    /// that store every token alike (the default).
    var protectedVisualFraction: Double { get }
    /// Marks token positions (the same in every layer) to keep at that higher precision;
    /// call it before the prefill that appends them. A no-op for the other caches.
    func protectTokens(_ positions: Set<Int>)
}

extension KVCache {
    public var protectedVisualFraction: Double { 0 }
    public func protectTokens(_ positions: Set<Int>) {}
}

/// What a cache stores per token and layer.
public struct KVCacheShape: Sendable, Equatable {
    public let layers: Int
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int
    /// The most tokens one sequence may cache (the model's context or the user's limit).
    public let capacity: Int

    public init(layers: Int, heads: Int, kvHeads: Int, headDim: Int, capacity: Int) {
        self.layers = layers; self.heads = heads; self.kvHeads = kvHeads
        self.headDim = headDim; self.capacity = capacity
    }
    public var kvWidth: Int { kvHeads * headDim }
    public var queryWidth: Int { heads * headDim }
}

/// The storage types a user can select with `--kv-cache`: dense f32 and f16, llama.cpp-style
/// q8 and q4 blocks, KIVI 2-bit and VidKV 1.x-bit (each type's file documents its format).
public enum KVCacheType: String, CaseIterable, Sendable {
    case f32, f16, q8, q4, kivi2, vidkv

    public func makeCache(shape: KVCacheShape) -> KVCache {
        switch self {
        case .f32: return DenseKVCache<Float>(shape: shape)
        case .f16: return DenseKVCache<Float16>(shape: shape)
        case .q8: return Q8KVCache(shape: shape)
        case .q4: return Q4KVCache(shape: shape)
        case .kivi2: return KIVIKVCache(shape: shape)
        case .vidkv: return VidKVCache(shape: shape)
        }
    }
}
