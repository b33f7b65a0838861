import CKernels

/// Prefill products on integer units (`CKernels/gemm_q16.c`): on CPUs with AVX-512 VNNI,
/// Q4_0 / Q4_1 / Q5_0 / Q8_0 weights multiply the prompt's rows with vpdpwssd, the rows rounded
/// to 16-bit blocks (relative 1.5e-5: float-grade; why not 8 bits is in gemm_q16.h), instead of
/// being dequantized for a float sgemm. Elsewhere, for other types, and with
/// `exactActivations`, the float path in `WeightMatrix.matMul` runs.
extension WeightMatrix {
    /// Whether this matrix's prefill product takes the integer GEMM on the CPU path in force.
    func takesIntegerGEMM(exactActivations: Bool) -> Bool {
        !exactActivations && vlm_gemm_q16_supports(Int32(type.rawValue)) != 0
    }

    /// Y_i[t x rows_i] = X[t x cols] W_iᵀ for matrices sharing one input, by the integer GEMM in
    /// one parallel region, with X rounded once. Returns false, computing nothing, when a matrix
    /// has no integer GEMM here.
    static func integerMatMul(_ matrices: [WeightMatrix], _ x: UnsafePointer<Float>, rows t: Int,
                              _ outputs: [UnsafeMutablePointer<Float>], exactActivations: Bool) -> Bool {
        let cols = matrices[0].cols
        guard matrices.allSatisfy({ $0.takesIntegerGEMM(exactActivations: exactActivations) && $0.cols == cols }) else { return false }
        let blocks = cols / 32
        let q = UnsafeMutablePointer<vlm_q16_block>.allocate(capacity: t * blocks)
        defer { q.deallocate() }
        Parallel.forRange(t, minChunk: 8) { s, e in
            for i in s..<e { vlm_quantize_q16(x + i * cols, cols, q + i * blocks) }
        }
        forRows(of: matrices, granularity: 32) { i, rows in
            let m = matrices[i]
            let done = vlm_gemm_q16(Int32(m.type.rawValue), m.data, m.rowBytes, rows.lowerBound, rows.upperBound, cols, q, t,
                                    outputs[i], m.rows)
            precondition(done == 1, "the integer GEMM refused a type it reported")
        }
        return true
    }
}
