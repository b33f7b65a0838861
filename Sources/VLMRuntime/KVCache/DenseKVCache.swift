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
    @inlinable public static func store(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float16>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float16>(v), as: SIMD8<Float16>.self)
            i += 8
        }
        while i < count { dst[i] = Float16(src[i]); i += 1 }
    }
    @inlinable public static func load(_ src: UnsafePointer<Float16>, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let v = UnsafeRawPointer(src + i).loadUnaligned(as: SIMD8<Float16>.self)
            UnsafeMutableRawPointer(dst + i).storeBytes(of: SIMD8<Float>(v), as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { dst[i] = Float(src[i]); i += 1 }
    }
    public static var cacheTypeName: String { "f16" }
}

/// An uncompressed cache: per layer, contiguous [capacity x kvWidth] key and value arrays.
/// Memory grows with use (arrays are reserved in chunks), so a 8k-context model that answers a
/// 100-token prompt holds 100 tokens' worth, not 8k.
public final class DenseKVCache<Element: DenseCacheElement>: KVCache {
    public let shape: KVCacheShape
    private var keys: [[Element]]
    private var values: [[Element]]

    public init(shape: KVCacheShape) {
        self.shape = shape
        keys = Array(repeating: [], count: shape.layers)
        values = Array(repeating: [], count: shape.layers)
    }

    public var typeName: String { Element.cacheTypeName }
    public func count(layer: Int) -> Int { keys[layer].count / shape.kvWidth }
    public var storedBytes: Int {
        (keys.reduce(0) { $0 + $1.count } + values.reduce(0) { $0 + $1.count }) * MemoryLayout<Element>.stride
    }

    public func append(layer: Int, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
                       tokens: Int) throws {
        let width = shape.kvWidth
        let old = count(layer: layer)
        guard old + tokens <= shape.capacity else {
            throw VLMError.usage("the sequence needs \(old + tokens) tokens, over the context limit of \(shape.capacity)")
        }
        func grow(_ a: inout [Element], _ src: UnsafePointer<Float>) {
            let start = a.count
            a.append(contentsOf: repeatElement(0, count: tokens * width))
            a.withUnsafeMutableBufferPointer { Element.store(src, $0.baseAddress! + start, count: tokens * width) }
        }
        grow(&keys[layer], newKeys)
        grow(&values[layer], newValues)
    }

    public func truncate(to position: Int) {
        let keep = max(0, position) * shape.kvWidth
        for l in 0..<shape.layers where keys[l].count > keep {
            keys[l].removeSubrange(keep...)
            values[l].removeSubrange(keep...)
        }
    }

    public func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float,
                       window: Int?, output: UnsafeMutablePointer<Float>) {
        keys[layer].withUnsafeBufferPointer { k in
            values[layer].withUnsafeBufferPointer { v in
                DenseAttention.run(shape: shape, keys: k.baseAddress!, values: v.baseAddress!,
                                   cached: count(layer: layer), queries: queries, tokens: tokens,
                                   scale: scale, window: window, output: output)
            }
        }
    }
}
