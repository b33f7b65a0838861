import XCTest
import Foundation
@testable import VLMRuntime

/// Every supported ggml type against gguf-py's reference dequantizer on random valid blocks
/// (tools/make_dequant_fixtures.py), and the mat-vec / mat-mul paths against
/// "dequantize, then a plain dot product".
final class DequantizeTests: XCTestCase {
    struct Case: Decodable { let count: Int; let bytes: [UInt8]; let values: [Float] }
    static let cases: [String: Case] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dequant.json")
        return try! JSONDecoder().decode([String: Case].self, from: Data(contentsOf: url))
    }()
    static let types: [String: GGMLType] = ["F32": .f32, "F16": .f16, "BF16": .bf16, "Q4_0": .q4_0, "Q4_1": .q4_1,
                                           "Q5_0": .q5_0, "Q5_1": .q5_1, "Q8_0": .q8_0, "Q4_K": .q4_K, "Q5_K": .q5_K, "Q6_K": .q6_K]

    func testEveryTypeMatchesGGUFPy() {
        XCTAssertEqual(Set(Self.cases.keys), Set(Self.types.keys))
        for (name, c) in Self.cases.sorted(by: { $0.key < $1.key }) {
            let type = Self.types[name]!
            var out = [Float](repeating: .nan, count: c.count)
            c.bytes.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { Dequantize.row(type, src.baseAddress!, $0.baseAddress!, count: c.count) }
            }
            let worst = zip(out, c.values).map { abs($0 - $1) / max(1e-6, abs($1)) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(name): worst relative difference from gguf-py")
        }
    }

    /// matVec and matMul (tile dequantize + sgemm) equal a plain float dot of the dequantized
    /// rows, for every type and for row counts that do not divide evenly among threads.
    func testMatVecAndMatMulAgreeWithDequantizedDot() {
        for (name, c) in Self.cases.sorted(by: { $0.key < $1.key }) {
            let type = Self.types[name]!
            // Reinterpret the fixture's blocks as a small matrix: rows x cols with cols >= one block.
            let cols = max(type.blockSize, 32) * (type.blockSize > 1 ? 1 : 2)
            let rows = c.count / cols
            let storage = ByteStorage(c.bytes)
            let w = WeightMatrix(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(storage.pointer), owner: storage)
            var rng = SeededGenerator(seed: 11)
            let t = 7
            let x = (0..<t * cols).map { _ in rng.nextUnit() * 2 - 1 }
            var expected = [Float](repeating: 0, count: t * rows)
            for i in 0..<t { for r in 0..<rows {
                var s: Double = 0
                for k in 0..<cols { s += Double(c.values[r * cols + k]) * Double(x[i * cols + k]) }
                expected[i * rows + r] = Float(s)
            } }
            var y = [Float](repeating: .nan, count: rows)
            w.matVec(x, &y)
            var yy = [Float](repeating: .nan, count: t * rows)
            w.matMul(x, rows: t, &yy)
            let scale = expected.map(abs).max()! + 1
            // Decode kernels may quantize activations to 8 bits (as llama.cpp does): 1% of scale.
            XCTAssertLessThan(zip(y, expected.prefix(rows)).map { abs($0 - $1) }.max()!, 1e-2 * scale, "\(name) matVec")
            XCTAssertLessThan(zip(yy, expected).map { abs($0 - $1) }.max()!, 1e-4 * scale, "\(name) matMul")
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
