/// Vectorised transcendental functions for the activation and softmax loops, where scalar
/// `expf` calls would dominate (a 1024-token ViT layer takes 12 million exponentials).
public enum VectorMath {
    /// e^x for 8 lanes: Cephes' range reduction (x = n ln2 + r) and degree-6 polynomial,
    /// relative error about 2e-7 over the clamped range [-87.3, 88.7].
    @inlinable @inline(__always)
    public static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        // Only plain lane-wise arithmetic and bit casts: Swift's generic SIMD rounding and
        // int conversions compile to scalar loops.
        var x = pointwiseMin(pointwiseMax(input, SIMD8(repeating: -87.3)), SIMD8(repeating: 88.7))
        // n = round(x / ln 2) with the 1.5 * 2^23 trick: after the add, n sits in the low mantissa bits.
        let magic = SIMD8<Float>(repeating: 12582912)
        let shifted = x * 1.44269504088896341 + magic
        let n = shifted - magic
        x = x - n * 0.693359375
        x = x + n * 2.12194440e-4
        let z = x * x
        var y = SIMD8<Float>(repeating: 1.9875691500e-4)
        y = y * x + 1.3981999507e-3
        y = y * x + 8.3334519073e-3
        y = y * x + 4.1665795894e-2
        y = y * x + 1.6666665459e-1
        y = y * x + 5.0000001201e-1
        y = y * z + x + 1
        let bits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
        return y * unsafeBitCast((bits &+ 127) &<< 23, to: SIMD8<Float>.self)
    }

    /// e^x over a buffer, in place; returns the sum of the results (softmax's denominator).
    @inlinable
    public static func expInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, subtracting m: Float) -> Float {
        var acc = SIMD8<Float>(repeating: 0)
        var i = 0
        let mv = SIMD8<Float>(repeating: m)
        while i + 8 <= count {
            let e = exp(UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self) - mv)
            UnsafeMutableRawPointer(p + i).storeBytes(of: e, as: SIMD8<Float>.self)
            acc += e; i += 8
        }
        var sum = acc.sum()
        if i < count {
            var tail = SIMD8<Float>(repeating: -.infinity)
            for j in i..<count { tail[j - i] = p[j] - m }
            let e = exp(tail)
            for j in i..<count { p[j] = e[j - i]; sum += e[j - i] }
        }
        return sum
    }
}
