import CKernels

/// Dot products of stored weight rows with one activation vector x: the decode hot path.
///
/// - Q4_0, Q4_1, Q5_0 and Q8_0 weights: x is quantized once per input to 8-bit blocks of 32 (as
///   llama.cpp does) and each row is computed with integer SIMD in `CKernels`, at the CPU path
///   chosen at run time; the error this adds is that of 8-bit activations, well under the
///   weights' own quantization error.
/// - With `exactActivations` (the output head, whose top logits can sit within 0.1 of each
///   other in small models, where 8-bit activations would decide the argmax): Q8_0 rows take x
///   rounded to 16 bits per block (relative 1.5e-5, products still in integers); the other
///   block types multiply in float.
/// - K-quants and 16/32-bit floats dequantize one row at a time (it stays in L1) and take a
///   float SIMD dot.
struct QuantDot {
    /// The activations as one product reads them.
    enum Activations {
        case float
        case int8(UnsafePointer<vlm_q8_block>)
        case int16(UnsafePointer<vlm_q16_block>)
    }

    let type: GGMLType
    let cols: Int
    let x: UnsafePointer<Float>
    let activations: Activations

    static func takesInt8(_ type: GGMLType, exactActivations: Bool) -> Bool {
        !exactActivations && vlm_quant_dot_supports(Int32(type.rawValue)) != 0
    }

    static func takesInt16(_ type: GGMLType, exactActivations: Bool) -> Bool {
        exactActivations && vlm_q16_supports(Int32(type.rawValue)) != 0
    }

    /// Runs `body` with one `QuantDot` per type, x rounded once (in a stack buffer) to the
    /// format the types take.
    static func with<R>(_ x: UnsafePointer<Float>, cols: Int, types: [GGMLType], exactActivations: Bool,
                        _ body: ([QuantDot]) -> R) -> R {
        let plain = types.map { QuantDot(type: $0, cols: cols, x: x, activations: .float) }
        if types.contains(where: { takesInt8($0, exactActivations: exactActivations) }) {
            return withUnsafeTemporaryAllocation(of: vlm_q8_block.self, capacity: cols / 32) { q in
                vlm_quantize_q8(x, cols, q.baseAddress!)
                return body(plain.map { takesInt8($0.type, exactActivations: false) ? $0.with(.int8(UnsafePointer(q.baseAddress!))) : $0 })
            }
        }
        if types.contains(where: { takesInt16($0, exactActivations: exactActivations) }) {
            return withUnsafeTemporaryAllocation(of: vlm_q16_block.self, capacity: cols / 32) { q in
                vlm_quantize_q16(x, cols, q.baseAddress!)
                return body(plain.map { takesInt16($0.type, exactActivations: true) ? $0.with(.int16(UnsafePointer(q.baseAddress!))) : $0 })
            }
        }
        return body(plain)
    }

    private func with(_ a: Activations) -> QuantDot { QuantDot(type: type, cols: cols, x: x, activations: a) }

    func rows(_ range: Range<Int>, data: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>) {
        let t = Int32(type.rawValue), lo = range.lowerBound, hi = range.upperBound
        switch activations {
        case .int8(let q): vlm_matvec_q8(t, data, rowBytes, lo, hi, cols, q, y, 0)
        case .int16(let q): vlm_matvec_q16(t, data, rowBytes, lo, hi, cols, q, y, 0)
        case .float where vlm_quant_dot_supports(t) != 0: vlm_matvec_f32(t, data, rowBytes, lo, hi, cols, x, y, 0)
        case .float:
            withUnsafeTemporaryAllocation(of: Float.self, capacity: cols) { buffer in
                let row = buffer.baseAddress!
                for r in range {
                    Dequantize.row(type, data + r * rowBytes, row, count: cols)
                    y[r] = vlm_dot_f32(row, x, cols)
                }
            }
        }
    }
}
