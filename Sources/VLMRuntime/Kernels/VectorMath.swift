import CKernels

/// Vectorised transcendental functions for the activation and softmax loops, where scalar
/// `expf` calls would dominate (a 1024-token ViT layer takes 12 million exponentials).
public enum VectorMath {
    /// e^(x - m) over a buffer, in place; returns the sum of the results (softmax's
    /// denominator). Cephes' range reduction and degree-6 polynomial at the CPU path's width
    /// (`CKernels/vec_kernels`), relative error about 2e-7 over the clamped range [-87.3, 88.7].
    public static func expInPlace(_ p: UnsafeMutablePointer<Float>, count: Int, subtracting m: Float) -> Float {
        vlm_exp_sum(p, count, m)
    }
}
