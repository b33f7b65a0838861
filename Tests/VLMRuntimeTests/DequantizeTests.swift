import XCTest
import TestSupport
import Foundation
@testable import VLMRuntime

/// Every supported ggml type against gguf-py's reference dequantizer on random valid blocks
/// (tools/make_dequant_fixtures.py), and the mat-vec / mat-mul paths against
/// "dequantize, then a plain dot product".
final class DequantizeTests: XCTestCase {
    struct Case: Decodable {
        let count: Int
        let bytes_base64: String
        let values_f32_base64: String
        var bytes: [UInt8] { Array(Data(base64Encoded: bytes_base64)!) }
        var values: [Float] { Data(base64Encoded: values_f32_base64)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }
    }
    static let cases: [String: Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dequant.json")
        return try! JSONDecoder().decode([String: Case].self, from: Data(contentsOf: url))
    }()
    static let types: [String: GGMLType] = ["F32": .f32, "F16": .f16, "BF16": .bf16, "Q4_0": .q4_0, "Q4_1": .q4_1,
                                           "Q5_0": .q5_0, "Q5_1": .q5_1, "Q8_0": .q8_0, "Q4_K": .q4_K, "Q5_K": .q5_K, "Q6_K": .q6_K]

    /// Bit-identical to gguf-py, including signed zeros and subnormal f16/bf16 values and scales.
    func testEveryTypeMatchesGGUFPy() {
        XCTAssertEqual(Set(Self.cases.keys), Set(Self.types.keys))
        for (name, c) in Self.cases.sorted(by: { $0.key < $1.key }) {
            let type = Self.types[name]!
            let bytes = c.bytes, values = c.values
            XCTAssertEqual(values.count, c.count)
            XCTAssertEqual(bytes.count, c.count / type.blockSize * type.blockBytes, name)
            var out = [Float](repeating: .nan, count: c.count)
            bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { Dequantize.row(type, src.baseAddress!, $0.baseAddress!, count: c.count) }
            }
            let mismatches = zip(out, values).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
            XCTAssertTrue(mismatches.isEmpty, "\(name): \(mismatches.count) values differ from gguf-py, first \(mismatches.first.map { "\($0)" } ?? "")")
        }
    }

    /// The f16 conversion on every one of the 63 488 finite bit patterns, against an exact
    /// construction from sign, exponent and mantissa (subnormals are m * 2^-24).
    func testF16ConversionIsExactForEveryFiniteValue() {
        var bits = (0..<UInt32(1 << 16)).map(UInt16.init(truncatingIfNeeded:)).filter { ($0 >> 10) & 0x1F != 0x1F }
        var out = [Float](repeating: .nan, count: bits.count)
        bits.withUnsafeMutableBytes { src in
            out.withUnsafeMutableBufferPointer { Dequantize.row(.f16, src.baseAddress!, $0.baseAddress!, count: $0.count) }
        }
        for (b, v) in zip(bits, out) {
            let e = Int((b >> 10) & 0x1F), m = Float(b & 0x3FF)
            var x = e == 0 ? m * 0x1p-24 : (1 + m / 1024) * Float(sign: .plus, exponent: e - 15, significand: 1)
            if b & 0x8000 != 0 { x = -x }
            if v.bitPattern != x.bitPattern { return XCTFail("f16 0x\(String(b, radix: 16)) -> \(v), expected \(x)") }
        }
    }

    /// matVec and matMul (tile dequantize + sgemm) equal a plain float dot of the dequantized
    /// rows, for every type, on the fixture's blocks read as a small matrix.
    func testMatVecAndMatMulAgreeWithDequantizedDot() {
        for (name, c) in Self.cases.sorted(by: { $0.key < $1.key }) {
            let type = Self.types[name]!
            let cols = max(type.blockSize, 32) * (type.blockSize > 1 ? 1 : 2)
            let rows = c.count / cols
            let storage = ByteStorage(c.bytes)
            let w = WeightMatrix(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(storage.pointer), owner: storage)
            QuantKernelCheck(w, dequantized: c.values, tokens: 7, seed: 11).run(name)
        }
    }

    /// Larger random matrices of every type with row counts that split unevenly among threads
    /// (1, 2 and 3 workers), several row tiles in matMul, and token counts on both sides of the
    /// matVec / sgemm switch.
    func testOddShapesAcrossThreadCounts() {
        let saved = Parallel.threadCount
        defer { Parallel.threadCount = saved }
        var rng = SeededGenerator(seed: 5)
        for threads in [1, 2, 3] {
            Parallel.threadCount = threads
            for name in Self.types.keys.sorted() {
                let type = Self.types[name]!
                let cols = type.blockSize == 256 ? 512 : 96
                let rows = threads == 2 ? 203 : 77
                let w = randomMatrix(type, rows: rows, cols: cols, &rng)
                var deq = [Float](repeating: 0, count: rows * cols)
                w.dequantizeRows(0..<rows, into: &deq)
                XCTAssertTrue(deq.allSatisfy(\.isFinite), name)
                for t in [1, 2, 5] {
                    QuantKernelCheck(w, dequantized: deq, tokens: t, seed: UInt64(t)).run("\(name) \(rows)x\(cols) threads \(threads) t \(t)")
                }
            }
        }
        // Enough columns that matMul's per-worker tile is smaller than its share of rows.
        Parallel.threadCount = 2
        let w = randomMatrix(.q8_0, rows: 203, cols: 5376, &rng)
        var deq = [Float](repeating: 0, count: 203 * 5376)
        w.dequantizeRows(0..<203, into: &deq)
        QuantKernelCheck(w, dequantized: deq, tokens: 3, seed: 3).run("Q8_0 multi-tile")
    }

    /// A matrix of random blocks whose f16 scale fields hold finite values of a realistic range.
    func randomMatrix(_ type: GGMLType, rows: Int, cols: Int, _ rng: inout SeededGenerator) -> WeightMatrix {
        let blocks = rows * cols / type.blockSize
        var bytes = (0..<blocks * type.blockBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        func f16(_ v: Float) -> [UInt8] { rawBytes([Float16(v)]) }
        let scaleFields: [Int]
        switch type {
        case .f32:
            bytes = rawBytes((0..<rows * cols).map { _ in rng.nextUnit() * 2 - 1 })
            scaleFields = []
        case .f16:
            bytes = rawBytes((0..<rows * cols).map { _ in Float16(rng.nextUnit() * 2 - 1) })
            scaleFields = []
        case .bf16:
            bytes = rawBytes((0..<rows * cols).map { _ in UInt16((rng.nextUnit() * 2 - 1).bitPattern >> 16) })
            scaleFields = []
        case .q4_0, .q5_0, .q8_0: scaleFields = [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: scaleFields = [0, 2]
        case .q6_K: scaleFields = [208]
        default: fatalError("untested type")
        }
        for b in 0..<(scaleFields.isEmpty ? 0 : blocks) {
            for off in scaleFields {
                let s = f16((rng.nextUnit() * 2 - 1) * 0.05)
                bytes[b * type.blockBytes + off] = s[0]; bytes[b * type.blockBytes + off + 1] = s[1]
            }
        }
        let storage = ByteStorage(bytes)
        return WeightMatrix(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(storage.pointer), owner: storage)
    }
}

/// Checks one matrix's matVec and matMul against float64 dots of its dequantized rows.
struct QuantKernelCheck {
    let w: WeightMatrix
    let deq: [Float]
    let x: [Float]
    let t: Int

    init(_ w: WeightMatrix, dequantized: [Float], tokens: Int, seed: UInt64) {
        self.w = w; deq = dequantized; t = tokens
        var rng = SeededGenerator(seed: seed)
        x = (0..<tokens * w.cols).map { _ in rng.nextUnit() * 2 - 1 }
    }

    func run(_ what: String, file: StaticString = #filePath, line: UInt = #line) {
        let rows = w.rows, cols = w.cols
        var expected = [Double](repeating: 0, count: t * rows)
        var magnitude = [Double](repeating: 0, count: t * rows)       // Σ|w x|: float rounding scale
        var activationError = [Double](repeating: 0, count: t * rows) // bound for 8-bit activations
        for i in 0..<t {
            let xi = x[i * cols..<(i + 1) * cols]
            // Per-block max |x| (32, or 256 for K-quants, whose kernels may quantize x per
            // super-block): quantizing x to 8 bits moves each value by at most amax/254.
            let qb = max(32, w.type.blockSize)
            let blockMax = stride(from: 0, to: cols, by: qb).map { b in xi[xi.startIndex + b..<xi.startIndex + min(cols, b + qb)].map(abs).max()! }
            for r in 0..<rows {
                var s: Double = 0, m: Double = 0, e: Double = 0
                for k in 0..<cols {
                    let wv = Double(deq[r * cols + k]), xv = Double(xi[xi.startIndex + k])
                    s += wv * xv; m += abs(wv * xv); e += abs(wv) * Double(blockMax[k / qb]) / 254
                }
                expected[i * rows + r] = s; magnitude[i * rows + r] = m; activationError[i * rows + r] = e
            }
        }
        var y = [Float](repeating: .nan, count: rows)
        w.matVec(x, &y)
        for r in 0..<rows {
            let tol = 2 * activationError[r] + 1e-5 * magnitude[r] + 1e-30
            if !(abs(Double(y[r]) - expected[r]) <= tol) {
                return XCTFail("\(what) matVec row \(r): \(y[r]) vs \(expected[r]) (tolerance \(tol))", file: file, line: line)
            }
        }
        var yy = [Float](repeating: .nan, count: t * rows)
        w.matMul(x, rows: t, &yy)
        for i in 0..<t * rows {
            // t <= 2 runs the mat-vec kernels (8-bit activations); larger t the integer GEMM
            // where the CPU path has one (16-bit activations: the 8-bit bound x 254/65534), else
            // sgemm on dequantized floats.
            let rounding = t <= 2 ? 2 * activationError[i] : w.takesIntegerGEMM(exactActivations: false) ? 2 * activationError[i] * 254 / 65534 : 0
            let tol = rounding + 1e-5 * magnitude[i] + 1e-30
            if !(abs(Double(yy[i]) - expected[i]) <= tol) {
                return XCTFail("\(what) matMul t=\(t) [\(i / rows), \(i % rows)]: \(yy[i]) vs \(expected[i]) (tolerance \(tol))", file: file, line: line)
            }
        }
    }
}

/// Bytes in stable, aligned storage for a WeightMatrix to point at.
final class ByteStorage {
    let pointer: UnsafeMutableRawPointer
    init(_ bytes: [UInt8]) {
        pointer = .allocate(byteCount: max(1, bytes.count), alignment: 64)
        pointer.copyMemory(from: bytes, byteCount: bytes.count)
    }
    deinit { pointer.deallocate() }
}
