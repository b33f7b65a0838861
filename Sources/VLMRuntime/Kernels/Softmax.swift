#if canImport(Glibc)
import Glibc
#endif

public enum Softmax {
    /// Numerically stable softmax of `count` floats, in place. Returns nothing; the row sums to 1.
    @inlinable
    public static func inPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count == 0 { return }
        var m = x[0]
        for i in 1..<count where x[i] > m { m = x[i] }
        var sum: Float = 0
        for i in 0..<count { let e = expf(x[i] - m); x[i] = e; sum += e }
        let inv = 1 / sum
        for i in 0..<count { x[i] *= inv }
    }

    /// The same with a vectorised exponential (relative error ~2e-7 instead of libm's 1 ulp):
    /// for ViT attention rows, where exp calls dominate. Decoders keep `inPlace`, whose greedy
    /// outputs are pinned by the reference tests.
    @inlinable
    public static func inPlaceVectorized(_ x: UnsafeMutablePointer<Float>, count: Int) {
        if count == 0 { return }
        var m = x[0]
        var i = 0
        if count >= 8 {
            var mv = UnsafeRawPointer(x).loadUnaligned(as: SIMD8<Float>.self)
            i = 8
            while i + 8 <= count { mv = pointwiseMax(mv, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)); i += 8 }
            m = mv.max()
        }
        while i < count { if x[i] > m { m = x[i] }; i += 1 }
        let sum = VectorMath.expInPlace(x, count: count, subtracting: m)
        let inv = SIMD8<Float>(repeating: 1 / sum)
        i = 0
        while i + 8 <= count {
            UnsafeMutableRawPointer(x + i).storeBytes(of: UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * inv, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count { x[i] *= inv[0]; i += 1 }
    }
}
