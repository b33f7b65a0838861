import CKernels

public enum Softmax {
    /// Numerically stable softmax of `count` floats, in place; the row sums to 1. The
    /// exponential is `CKernels`' vectorised one (Cephes' range reduction and degree-6
    /// polynomial, relative error ~2e-7 against libm's expf), at the CPU path's width.
    public static func inPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        vlm_softmax(x, count)
    }
}
