import COpenBLAS

/// Thin wrappers over OpenBLAS for the large float32 products of prefill and vision encoding.
/// Row-major throughout, matching how the rest of the runtime lays out activations.
public enum BLAS {
    /// C[M x N] = alpha * A[M x K] * B^T + beta * C, where B is stored as [N x K] row-major
    /// (the layout of a linear layer's weight: one output feature per row).
    @inlinable
    public static func gemmABt(m: Int, n: Int, k: Int,
                               a: UnsafePointer<Float>, lda: Int,
                               b: UnsafePointer<Float>, ldb: Int,
                               c: UnsafeMutablePointer<Float>, ldc: Int,
                               alpha: Float = 1, beta: Float = 0) {
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[M x N] = alpha * A[M x K] * B[K x N] + beta * C, all row-major.
    @inlinable
    public static func gemm(m: Int, n: Int, k: Int,
                            a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            c: UnsafeMutablePointer<Float>, ldc: Int,
                            alpha: Float = 1, beta: Float = 0) {
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// OpenBLAS runs single-threaded: kernels split work across `Parallel`'s workers and call
    /// sgemm from each, because OpenBLAS's own pool busy-waits between calls and fights those
    /// workers for the cores (a third of prefill time went to sched_yield). Evaluated once,
    /// before the first product.
    public static let singleThreaded: Void = { openblas_set_num_threads(1) }()
}
