import XCTest
import Foundation
@testable import VLMRuntime
import TestSupport

/// The real model files (when installed): metadata and tensor table as gguf-py reads them, every
/// tensor's first row finite, and whole rows of a tensor of every type present equal, bit for
/// bit, to gguf-py's dequantizer (tools/make_real_gguf_fixtures.py).
final class RealGGUFTests: XCTestCase {
    struct Row: Decodable { let tensor: String; let type: String; let shape: [Int]; let row: Int; let values_f32_base64: String }
    struct Model: Decodable {
        let tensor_count: Int
        let kv_count: Int
        let type_counts: [String: Int]
        let rows: [Row]
    }
    static let expected: [String: Model] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/real_gguf_rows.json")
        return try! JSONDecoder().decode([String: Model].self, from: Data(contentsOf: url))
    }()

    func check(_ fileName: String, metadata: (GGUFFile) throws -> Void) throws {
        let f = try GGUFFile.open(path: try installedModel(fileName))
        let exp = Self.expected[fileName]!
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.tensors.count, exp.tensor_count)
        XCTAssertEqual(f.metadata.count, exp.kv_count)
        var counts: [String: Int] = [:]
        for t in f.tensors { counts[t.type.description, default: 0] += 1 }
        XCTAssertEqual(counts, exp.type_counts)
        try metadata(f)

        // Every tensor: the first row (a whole row, any rank) dequantizes to finite values.
        for t in f.tensors {
            let cols = t.shape[0]
            let rows = t.elementCount / max(1, cols)
            let m = WeightMatrix(type: t.type, rows: rows, cols: cols, data: f.data(of: t), owner: f)
            var row = [Float](repeating: .nan, count: cols)
            m.dequantizeRows(0..<1, into: &row)
            XCTAssertTrue(row.allSatisfy(\.isFinite), "\(t.name) row 0 is not finite")
        }

        for r in exp.rows {
            let t = try XCTUnwrap(f.tensor(named: r.tensor))
            XCTAssertEqual(t.shape, r.shape, r.tensor)
            XCTAssertEqual(t.type.description, r.type, r.tensor)
            let expected = Data(base64Encoded: r.values_f32_base64)!.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            var got = [Float](repeating: .nan, count: t.shape[0])
            if t.shape.count == 1 {
                got = try f.vector(named: r.tensor)
            } else {
                try f.matrix(named: r.tensor).dequantizeRows(r.row..<r.row + 1, into: &got)
            }
            XCTAssertEqual(got.count, expected.count, r.tensor)
            let mismatches = zip(got, expected).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(mismatches, 0, "\(r.tensor) row \(r.row): values differ from gguf-py")
        }
    }

    func testSmolLM2() throws {
        try check(smolLM2File) { f in
            XCTAssertEqual(try f.string("general.architecture"), "llama")
            XCTAssertEqual(try f.int("llama.block_count"), 30)
            XCTAssertEqual(try f.int("llama.embedding_length"), 576)
            XCTAssertEqual(try f.float("llama.rope.freq_base"), 100000)
            XCTAssertEqual(try f.stringArray("tokenizer.ggml.tokens").count, 49152)
            let embd = try f.matrix(named: "token_embd.weight")
            XCTAssertEqual([embd.rows, embd.cols], [49152, 576])
        }
    }

    func testGemma3() throws {
        try check(gemma3File) { f in
            XCTAssertEqual(try f.string("general.architecture"), "gemma3")
            XCTAssertEqual(try f.int("gemma3.block_count"), 18)
            XCTAssertEqual(try f.int("gemma3.embedding_length"), 640)
            XCTAssertEqual(try f.float("gemma3.rope.freq_base"), 1_000_000)
            XCTAssertEqual(try f.floatArray("tokenizer.ggml.scores").count, 262144)
            XCTAssertEqual(try f.intArray("tokenizer.ggml.token_type").count, 262144)
        }
    }
}
