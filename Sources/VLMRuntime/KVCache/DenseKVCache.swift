import CKernels

/// A float element type a dense cache can store: Float (exact) or Float16 (half the memory,
/// the default, as in llama.cpp). Rows are widened to Float in small tiles when read.
public protocol DenseCacheElement: BinaryFloatingPoint, Sendable {
    static func store(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Self>, count: Int)
    static func load(_ src: UnsafePointer<Self>, _ dst: UnsafeMutablePointer<Float>, count: Int)
    static var cacheTypeName: String { get }
}

extension Float: DenseCacheElement {
    @inlinable public static func store(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        dst.update(from: src, count: count)
    }
    @inlinable public static func load(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        dst.update(from: src, count: count)
    }
    public static var cacheTypeName: String { "f32" }
}

extension Float16: DenseCacheElement {
    /// Through `CKernels` (F16C on the AVX2 and AVX-512 paths): Swift's own Float16 conversion
    /// is a library call per value on a binary built for the x86-64 baseline.
    public static func store(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float16>, count: Int) {
        UnsafeMutableRawPointer(dst).withMemoryRebound(to: UInt16.self, capacity: count) { vlm_f32_to_f16(src, $0, count) }
    }
    public static func load(_ src: UnsafePointer<Float16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        UnsafeRawPointer(src).withMemoryRebound(to: UInt16.self, capacity: count) { vlm_f16_to_f32($0, dst, count) }
    }
    public static var cacheTypeName: String { "f16" }
}

/// An uncompressed cache: per layer, contiguous [tokens x kvWidth] key and value buffers.
/// Memory grows with use (buffers double as needed), so an 8k-context model that answers a
/// 100-token prompt holds 100 tokens' worth, not 8k.
public final class DenseKVCache<Element: DenseCacheElement>: KVCache {
    public let shape: KVCacheShape
    private var keys: [GrowableBuffer<Element>]
    private var values: [GrowableBuffer<Element>]

    public init(shape: KVCacheShape) {
        self.shape = shape
        keys = (0..<shape.layers).map { _ in GrowableBuffer() }
        values = (0..<shape.layers).map { _ in GrowableBuffer() }
    }

    public var typeName: String { Element.cacheTypeName }
    public func count(layer: Int) -> Int { keys[layer].count / shape.kvWidth }
    /// Bytes of the cached tokens (what the cache holds as data; spare capacity not counted).
    public var storedBytes: Int {
        (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count }) * MemoryLayout<Element>.stride
    }

    public func append(layer: Int, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
                       tokens: Int) throws {
        let old = count(layer: layer)
        guard old + tokens <= shape.capacity else {
            throw VLMError.usage("the sequence needs \(old + tokens) tokens, over the context limit of \(shape.capacity)")
        }
        let n = tokens * shape.kvWidth
        Element.store(newKeys, keys[layer].extend(by: n), count: n)
        Element.store(newValues, values[layer].extend(by: n), count: n)
    }

    public func truncate(to position: Int) {
        let keep = max(0, position) * shape.kvWidth
        for l in 0..<shape.layers {
            keys[l].shrink(to: keep)
            values[l].shrink(to: keep)
        }
    }

    /// The raw key and value storage of `layer` (for attention variants in this module).
    func withStorage(layer: Int, _ body: (UnsafeRawPointer, UnsafeRawPointer) -> Void) {
        body(UnsafeRawPointer(keys[layer].base), UnsafeRawPointer(values[layer].base))
    }

    public func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float,
                       mask: AttentionMask, output: UnsafeMutablePointer<Float>) {
        let cached = count(layer: layer)
        // Called through the KVCache protocol, this method runs unspecialized; naming the concrete
        // element type lets the attention kernel compile without generic metadata in its loops.
        let kr = UnsafeRawPointer(keys[layer].base), vr = UnsafeRawPointer(values[layer].base)
        if Element.self == Float16.self {
            DenseAttention.run(shape: shape, keys: kr.assumingMemoryBound(to: Float16.self),
                               values: vr.assumingMemoryBound(to: Float16.self), cached: cached,
                               queries: queries, tokens: tokens, scale: scale, mask: mask, output: output)
        } else {
            DenseAttention.run(shape: shape, keys: kr.assumingMemoryBound(to: Float.self),
                               values: vr.assumingMemoryBound(to: Float.self), cached: cached,
                               queries: queries, tokens: tokens, scale: scale, mask: mask, output: output)
        }
    }
}

/// A contiguous buffer of trivial elements that grows by doubling; its memory is uninitialized
/// beyond `count`, which is fine for the plain floats caches store.
final class GrowableBuffer<Element> {
    private(set) var base: UnsafeMutablePointer<Element>
    private(set) var count = 0
    private var capacity = 0

    init() { base = .allocate(capacity: 1) }
    deinit { base.deallocate() }

    /// Grows by `n` elements and returns where they start.
    func extend(by n: Int) -> UnsafeMutablePointer<Element> {
        if count + n > capacity {
            let newCapacity = max(count + n, capacity * 2, 1024)
            let bigger = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
            bigger.moveInitialize(from: base, count: count)
            base.deallocate()
            base = bigger
            capacity = newCapacity
        }
        defer { count += n }
        return base + count
    }

    func shrink(to n: Int) { count = min(count, max(0, n)) }
}
