import XCTest
import CKernels
@testable import VLMRuntime

/// The C mat-vec kernels (`CKernels/quant_dot.c`) against the reference: `Dequantize.row`
/// followed by a float dot in Double.
///
/// Error bound with 8-bit activations: x is rounded to the nearest multiple of d_b = amax_b/127
/// in each 32-block b, so |x_i - x̂_i| <= amax_b/254 and
///   |y - y_ref| <= Σ_b (amax_b/254) Σ_{i∈b} |w_i|  (+ float rounding: 1e-5 Σ|w_i x_i| + 1e-5),
/// which is what `testInt8ActivationsWithinQuantizationBound` checks. The AVX2 and portable
/// paths do the same integer sums and differ only in float summation order:
/// |fast - portable| <= 1e-5 Σ|w_i x_i| + 1e-6 for every CPU path (AVX2, AVX-512). Exact (float-activation) kernels differ from the
/// reference only by float rounding: 1e-5 Σ|w_i x_i| + 1e-6.
final class QuantDotTests: XCTestCase {
    static let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K]
    static let shapes: [(rows: Int, cols: Int)] = [(1, 32), (7, 64), (13, 96), (9, 576), (5, 1536), (3, 2048)]

    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
            lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
        }
    }

    /// Random valid blocks: random quant bytes, finite f16 scales (and mins for Q4_1).
    static func randomRows(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout Rng) -> [UInt8] {
        let blocks = rows * cols / 32
        var bytes = [UInt8](repeating: 0, count: blocks * type.blockBytes)
        for b in 0..<blocks {
            let o = b * type.blockBytes
            for i in 0..<type.blockBytes { bytes[o + i] = UInt8(truncatingIfNeeded: rng.next()) }
            func putF16(_ v: Float, at k: Int) {
                let bits = Float16(v).bitPattern
                bytes[o + k] = UInt8(bits & 0xFF); bytes[o + k + 1] = UInt8(bits >> 8)
            }
            switch type {
            case .q4_K:   // d and dmin; the packed 6-bit scales and mins stay random
                putF16(rng.uniform(0.0005, 0.003), at: 0); putF16(rng.uniform(0.0005, 0.003), at: 2)
            case .q6_K:   // d last; the int8 scales stay random
                putF16(rng.uniform(0.0001, 0.0005), at: 208)
            default:
                putF16(rng.uniform(0.001, 0.05), at: 0)
                if type == .q4_1 { putF16(rng.uniform(-0.2, 0.2), at: 2) }
            }
        }
        return bytes
    }

    struct Reference { var y: [Double]; var absProducts: [Double]; var roundingBound: [Double] }

    static func reference(_ type: GGMLType, _ w: [UInt8], rows: Int, cols: Int, x: [Float]) -> Reference {
        let rowBytes = type.rowBytes(cols)!
        var row = [Float](repeating: 0, count: cols)
        var ref = Reference(y: [], absProducts: [], roundingBound: [])
        for r in 0..<rows {
            w.withUnsafeBytes { p in
                row.withUnsafeMutableBufferPointer { Dequantize.row(type, p.baseAddress! + r * rowBytes, $0.baseAddress!, count: cols) }
            }
            var s = 0.0, a = 0.0, bound = 0.0
            for b in 0..<cols / 32 {
                var amax: Float = 0, wsum = 0.0
                for i in b * 32..<b * 32 + 32 {
                    s += Double(row[i]) * Double(x[i]); a += abs(Double(row[i]) * Double(x[i]))
                    amax = max(amax, abs(x[i])); wsum += abs(Double(row[i]))
                }
                bound += Double(amax) / 254 * wsum
            }
            ref.y.append(s); ref.absProducts.append(a); ref.roundingBound.append(bound)
        }
        return ref
    }

    /// Runs `vlm_matvec_q8` (int8 activations) or `vlm_matvec_f32` over rows [lo, hi).
    static func kernel(_ type: GGMLType, _ w: [UInt8], rows: Int, cols: Int, x: [Float], int8: Bool,
                       portable: Bool, range: Range<Int>? = nil) -> [Float] {
        let rowBytes = type.rowBytes(cols)!
        let range = range ?? 0..<rows
        var y = [Float](repeating: .nan, count: rows)
        var q = [vlm_q8_block](repeating: vlm_q8_block(), count: cols / 32)
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBytes { wp in
                y.withUnsafeMutableBufferPointer { yp in
                    if int8 {
                        q.withUnsafeMutableBufferPointer { qp in
                            vlm_quantize_q8(xp.baseAddress!, cols, qp.baseAddress!)
                            vlm_matvec_q8(Int32(type.rawValue), wp.baseAddress!, rowBytes, range.lowerBound, range.upperBound,
                                          cols, qp.baseAddress!, yp.baseAddress!, portable ? 1 : 0)
                        }
                    } else {
                        vlm_matvec_f32(Int32(type.rawValue), wp.baseAddress!, rowBytes, range.lowerBound, range.upperBound,
                                       cols, xp.baseAddress!, yp.baseAddress!, portable ? 1 : 0)
                    }
                }
            }
        }
        return y
    }

    func forEachCase(_ body: (GGMLType, Int, Int, [UInt8], [Float]) -> Void) {
        var rng = Rng(state: 42)
        for type in Self.types {
            XCTAssertEqual(vlm_quant_dot_supports(Int32(type.rawValue)), 1, "\(type)")
            for (rows, cols) in Self.shapes where cols % type.blockSize == 0 {
                let w = Self.randomRows(type, rows: rows, cols: cols, &rng)
                let x = (0..<cols).map { _ in rng.uniform(-2, 2) }
                body(type, rows, cols, w, x)
            }
        }
    }

    func testInt8ActivationsWithinQuantizationBound() {
        forEachCase { type, rows, cols, w, x in
            let ref = Self.reference(type, w, rows: rows, cols: cols, x: x)
            for portable in [false, true] {
                let y = Self.kernel(type, w, rows: rows, cols: cols, x: x, int8: true, portable: portable)
                for r in 0..<rows {
                    let err = abs(Double(y[r]) - ref.y[r])
                    let bound = ref.roundingBound[r] + 1e-5 * ref.absProducts[r] + 1e-5
                    XCTAssertLessThanOrEqual(err, bound, "\(type) \(rows)x\(cols) row \(r) portable \(portable)")
                    // The bound is a worst case; random signs make the actual error much smaller.
                    XCTAssertLessThanOrEqual(err, 1e-2 * ref.absProducts[r] + 1e-5, "\(type) \(rows)x\(cols) row \(r)")
                }
            }
        }
    }

    /// The path in force (the best this CPU has, or `VLM_CPU_PATH`'s) against the portable C;
    /// CPUPathTests runs every path by name.
    func testActivePathMatchesPortable() {
        forEachCase { type, rows, cols, w, x in
            let ref = Self.reference(type, w, rows: rows, cols: cols, x: x)
            for int8 in [true, false] {
                let fast = Self.kernel(type, w, rows: rows, cols: cols, x: x, int8: int8, portable: false)
                let plain = Self.kernel(type, w, rows: rows, cols: cols, x: x, int8: int8, portable: true)
                for r in 0..<rows {
                    XCTAssertLessThanOrEqual(abs(Double(fast[r]) - Double(plain[r])), 1e-5 * ref.absProducts[r] + 1e-6,
                                             "\(type) \(rows)x\(cols) row \(r) int8 \(int8)")
                }
            }
        }
    }

    func testExactActivationKernelsMatchReference() {
        forEachCase { type, rows, cols, w, x in
            let ref = Self.reference(type, w, rows: rows, cols: cols, x: x)
            for portable in [false, true] {
                let y = Self.kernel(type, w, rows: rows, cols: cols, x: x, int8: false, portable: portable)
                for r in 0..<rows {
                    XCTAssertLessThanOrEqual(abs(Double(y[r]) - ref.y[r]), 1e-5 * ref.absProducts[r] + 1e-6,
                                             "\(type) \(rows)x\(cols) row \(r) portable \(portable)")
                }
            }
        }
    }

    /// A row range writes exactly its rows (the threads split rows this way).
    func testRowRangeWritesOnlyItsRows() {
        var rng = Rng(state: 7)
        let w = Self.randomRows(.q4_1, rows: 11, cols: 64, &rng)
        let x = (0..<64).map { _ in rng.uniform(-1, 1) }
        let all = Self.kernel(.q4_1, w, rows: 11, cols: 64, x: x, int8: true, portable: false)
        let part = Self.kernel(.q4_1, w, rows: 11, cols: 64, x: x, int8: true, portable: false, range: 3..<8)
        for r in 0..<11 {
            if (3..<8).contains(r) { XCTAssertEqual(part[r], all[r]) } else { XCTAssertTrue(part[r].isNaN) }
        }
    }

    /// `WeightMatrix.matVec` (QuantDot plus threading) agrees with the reference.
    func testMatVecThroughWeightMatrix() {
        var rng = Rng(state: 3)
        for type in Self.types + [.q5_1, .f32] {
            let rows = 133, cols = type.blockSize == 256 ? 512 : 576
            let w: [UInt8]
            if type == .f32 {
                w = (0..<rows * cols).map { _ in rng.uniform(-0.1, 0.1) }.withUnsafeBytes { Array($0) }
            } else if type == .q5_1 {
                var b = Self.randomRows(.q5_1, rows: rows, cols: cols, &rng)
                for k in 0..<rows * cols / 32 {   // a finite f16 min too
                    let bits = Float16(rng.uniform(-0.2, 0.2)).bitPattern
                    b[k * 24 + 2] = UInt8(bits & 0xFF); b[k * 24 + 3] = UInt8(bits >> 8)
                }
                w = b
            } else {
                w = Self.randomRows(type, rows: rows, cols: cols, &rng)
            }
            let x = (0..<cols).map { _ in rng.uniform(-2, 2) }
            let ref = Self.reference(type, w, rows: rows, cols: cols, x: x)
            let storage = FloatStorage([])
            w.withUnsafeBytes { wp in
                let m = WeightMatrix(type: type, rows: rows, cols: cols, data: wp.baseAddress!, owner: storage)
                for exact in [false, true] {
                    var y = [Float](repeating: .nan, count: rows)
                    x.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { m.matVec(xp.baseAddress!, $0.baseAddress!, exactActivations: exact) }
                    }
                    let int8 = !exact && vlm_quant_dot_supports(Int32(type.rawValue)) != 0
                    // Exact Q8_0 (the output head) takes 16-bit activations: the 8-bit bound
                    // scaled by 254/65534.
                    let int16 = exact && vlm_q16_supports(Int32(type.rawValue)) != 0
                    for r in 0..<rows {
                        let rounding = int8 ? ref.roundingBound[r] : int16 ? ref.roundingBound[r] * 254 / 65534 : 0
                        let bound = rounding + 1e-5 * ref.absProducts[r] + 1e-5
                        XCTAssertLessThanOrEqual(abs(Double(y[r]) - ref.y[r]), bound, "\(type) row \(r) exact \(exact)")
                    }
                }
            }
        }
    }

    /// `WeightMatrix.q8_0` quantizes float rows into q8_0 blocks that dequantize within half a
    /// step of the input (|x - d*q| <= d/2, d = amax/127 rounded up to Float16).
    func testQ8_0FromFloatsWithinHalfStep() {
        var rng = Rng(state: 77)
        let rows = 5, cols = 96
        let x = (0..<(rows * cols)).map { _ in rng.uniform(-2, 2) }
        let w = WeightMatrix.q8_0(rows: rows, cols: cols, floats: x)
        XCTAssertEqual(w.type, .q8_0)
        XCTAssertEqual(w.rowBytes, cols / 32 * 34)
        var y = [Float](repeating: .nan, count: rows * cols)
        y.withUnsafeMutableBufferPointer { w.dequantizeRows(0..<rows, into: $0.baseAddress!) }
        for b in 0..<(rows * cols / 32) {
            let block = x[(b * 32)..<(b * 32 + 32)]
            let d = Float(Float16(block.map(abs).max()! / 127).nextUp)   // an upper bound of the stored d
            for i in block.indices { XCTAssertLessThanOrEqual(abs(x[i] - y[i]), d / 2 + 1e-6, "block \(b) index \(i)") }
        }
    }

    /// Prefill products (`matMul` over many rows; the integer GEMM on AVX-512 VNNI, 16-bit
    /// activations) equal the exact-activation mat-vec of each row (16-bit for Q8_0, float for
    /// the others) within the 16-bit rounding, for single matrices and q/k/v-style groups.
    func testPrefillProductsMatchRowByRowMatVec() throws {
        var rng = Rng(state: 21)
        let gemmTypes = Self.types.filter { vlm_gemm_q16_supports(Int32($0.rawValue)) != 0 }
        if gemmTypes.isEmpty { throw XCTSkip("integer GEMM: not run, CPU path \(CPUPath.current.name) has none") }
        for type in gemmTypes {
            let cols = type.blockSize == 256 ? 512 : 576
            let shapes = [70, 33, 192]
            let ws = shapes.map { Self.randomRows(type, rows: $0, cols: cols, &rng) }
            let storage = FloatStorage([])
            for t in [3, 5, 37] {
                let x = (0..<t * cols).map { _ in rng.uniform(-2, 2) }
                var together = shapes.map { [Float](repeating: .nan, count: t * $0) }
                var alone = shapes.map { [Float](repeating: .nan, count: t * $0) }
                var rows = shapes.map { [Float](repeating: .nan, count: t * $0) }
                ws[0].withUnsafeBytes { w0 in ws[1].withUnsafeBytes { w1 in ws[2].withUnsafeBytes { w2 in
                    let ms = [w0, w1, w2].enumerated().map { i, w in
                        WeightMatrix(type: type, rows: shapes[i], cols: cols, data: w.baseAddress!, owner: storage)
                    }
                    x.withUnsafeBufferPointer { xp in
                        let outs = (0..<3).map { i in together[i].withUnsafeMutableBufferPointer { $0.baseAddress! } }
                        WeightMatrix.matMul(ms, xp.baseAddress!, rows: t, outs)
                        for i in 0..<3 {
                            alone[i].withUnsafeMutableBufferPointer { ms[i].matMul(xp.baseAddress!, rows: t, $0.baseAddress!) }
                            rows[i].withUnsafeMutableBufferPointer { yp in
                                for r in 0..<t { ms[i].matVec(xp.baseAddress! + r * cols, yp.baseAddress! + r * shapes[i], exactActivations: true) }
                            }
                        }
                    }
                } } }
                for i in 0..<3 {
                    for r in 0..<t {
                        // The 16-bit rounding of x (both sides may round) plus float order.
                        let ref = Self.reference(type, ws[i], rows: shapes[i], cols: cols, x: Array(x[r * cols..<(r + 1) * cols]))
                        for j in 0..<shapes[i] {
                            let bound = 2 * ref.roundingBound[j] * 254 / 65534 + 1e-5 * ref.absProducts[j] + 1e-5
                            let k = r * shapes[i] + j
                            XCTAssertEqual(Double(together[i][k]), Double(rows[i][k]), accuracy: bound, "\(type) t \(t) matrix \(i) [\(k)] grouped")
                            XCTAssertEqual(Double(alone[i][k]), Double(rows[i][k]), accuracy: bound, "\(type) t \(t) matrix \(i) [\(k)]")
                        }
                    }
                }
            }
        }
    }
}
