import CKernels

public enum Softmax {
    /// Numerically stable softmax of `count` floats, in place; the row sums to 1. The
    /// exponential is `CKernels`' vectorised one (relative error ~2e-7 against libm's expf).
    public static func inPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
        vlm_softmax(x, count)
    }

    /// The same (kept as a name for the ViT call sites, which once had a separate vector path).
    public static func inPlaceVectorized(_ x: UnsafeMutablePointer<Float>, count: Int) {
        vlm_softmax(x, count)
    }
}
