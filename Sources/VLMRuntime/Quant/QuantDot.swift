import CKernels

/// Dot products of stored weight rows with one activation vector x: the decode hot path.
///
/// For Q4_0, Q4_1, Q5_0 and Q8_0 weights, x is quantized once per mat-vec to 8-bit blocks of 32
/// (as llama.cpp does) and each row is computed with integer SIMD in `CKernels` (AVX2 when the
/// CPU has it, portable C otherwise); the error this adds is that of 8-bit activations, well
/// under the weights' own quantization error. K-quants and 16/32-bit floats dequantize one row
/// into a small per-thread buffer (it stays in L1) and take a float SIMD dot.
struct QuantDot {
    let type: GGMLType
    let cols: Int
    let x: UnsafePointer<Float>
    /// x as 8-bit blocks, for the types the C kernels handle.
    let quantized: UnsafeMutablePointer<vlm_q8_block>?

    /// `exactActivations`: multiply in float instead of quantizing x to 8 bits (the output head
    /// uses it: top logits of small models can sit within 0.1 of each other, where 8-bit
    /// activations would decide the argmax).
    init(type: GGMLType, cols: Int, x: UnsafePointer<Float>, exactActivations: Bool) {
        self.type = type; self.cols = cols; self.x = x
        if !exactActivations && vlm_quant_dot_supports(Int32(type.rawValue)) != 0 {
            let q = UnsafeMutablePointer<vlm_q8_block>.allocate(capacity: cols / 32)
            vlm_quantize_q8(x, cols, q)
            quantized = q
        } else {
            quantized = nil
        }
    }

    func release() { quantized?.deallocate() }

    @inline(__always) func x16(_ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    func rows(_ range: Range<Int>, data: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>) {
        if let quantized {
            vlm_matvec_q8(Int32(type.rawValue), data, rowBytes, range.lowerBound, range.upperBound, cols, quantized, y, 0)
            return
        }
        if vlm_quant_dot_supports(Int32(type.rawValue)) != 0 {
            vlm_matvec_f32(Int32(type.rawValue), data, rowBytes, range.lowerBound, range.upperBound, cols, x, y, 0)
            return
        }
        let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
        defer { row.deallocate() }
        for r in range {
            Dequantize.row(type, data + r * rowBytes, row, count: cols)
            var acc = SIMD16<Float>(repeating: 0)
            var i = 0
            while i + 16 <= cols {
                acc.addProduct(UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self), x16(i))
                i += 16
            }
            var s = acc.sum()
            while i < cols { s += row[i] * x[i]; i += 1 }
            y[r] = s
        }
    }
}
