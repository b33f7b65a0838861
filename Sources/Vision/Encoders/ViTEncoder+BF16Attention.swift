import VLMRuntime

extension ViTEncoder {
    /// Multi-head self-attention with both products in bfloat16 (`--vision-bf16` on CPUs with
    /// AVX-512-BF16): per head, the keys (times the softmax scale) and the transposed values are
    /// packed as the "weights" of `BF16Weights`, the queries and probabilities are the rows it
    /// multiplies. Softmax stays in float32. Used when no attention map of the layer is tapped,
    /// so reducers reading maps see float32 ones.
    func bf16Attention(qkv: UnsafeMutablePointer<Float>, tokens t: Int, into out: UnsafeMutablePointer<Float>, scale: Float) {
        let d = config.hiddenSize, hd = config.headDim, stride = 3 * d
        Parallel.forRange(config.headCount) { h0, h1 in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
            let transposed = UnsafeMutablePointer<Float>.allocate(capacity: hd * t)
            defer { scores.deallocate(); transposed.deallocate() }
            for h in h0..<h1 {
                let q = qkv + h * hd, k = qkv + d + h * hd, v = qkv + 2 * d + h * hd
                let keys = BF16Weights(k, rows: t, cols: hd, rowStride: stride, scale: scale)
                if !keys.product(q, rows: t, ldx: stride, into: scores, ldy: t) {
                    BLAS.gemmABt(m: t, n: t, k: hd, a: q, lda: stride, b: k, ldb: stride, c: scores, ldc: t, alpha: scale)
                }
                for r in 0..<t { Softmax.inPlace(scores + r * t, count: t) }
                for r in 0..<t { for j in 0..<hd { transposed[j * t + r] = v[r * stride + j] } }
                let values = BF16Weights(transposed, rows: hd, cols: t)
                if !values.product(scores, rows: t, into: out + h * hd, ldy: d) {
                    BLAS.gemm(m: t, n: hd, k: t, a: scores, lda: t, b: v, ldb: stride, c: out + h * hd, ldc: d)
                }
            }
        }
    }
}
