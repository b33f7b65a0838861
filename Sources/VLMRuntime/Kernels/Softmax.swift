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
}
