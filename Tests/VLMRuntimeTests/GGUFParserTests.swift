import XCTest
import TestSupport
@testable import VLMRuntime

/// A small GGUF built in memory by `GGUFWriter`: every metadata value type, tensors of several
/// ranks and types, and the typed accessors the decoder loader relies on.
final class GGUFParserTests: XCTestCase {
    static let norm: [Float] = [1, 2, 3, 4, 5]
    static let proj: [Float16] = (0..<12).map { Float16(Float($0) * 0.25 - 1) }   // 3 rows x 4 cols
    static let cube: [Float] = (0..<24).map { Float($0) }
    static let bf16: [UInt16] = [0x3F80, 0xC000, 0x0001]  // 1, -2, smallest subnormal

    /// Two Q8_0 rows of 64 values: d = 0.5 for row 0, 0.25 for row 1; qs = i - 32.
    static var q8Blocks: [UInt8] {
        var out: [UInt8] = []
        for r in 0..<2 { for b in 0..<2 {
            out += rawBytes([Float16(r == 0 ? 0.5 : 0.25)])
            out += (0..<32).map { UInt8(bitPattern: Int8(b * 32 + $0 - 32)) }
        } }
        return out
    }
    static func q8Value(_ r: Int, _ c: Int) -> Float { Float(c - 32) * (r == 0 ? 0.5 : 0.25) }

    static func sampleWriter(version: UInt32 = 3) -> GGUFWriter {
        var w = GGUFWriter()
        w.version = version
        w.add("general.architecture", .string("llama"))
        w.add("test.u8", .u8(200)); w.add("test.i8", .i8(-100))
        w.add("test.u16", .u16(60000)); w.add("test.i16", .i16(-30000))
        w.add("test.u32", .u32(4_000_000_000)); w.add("test.i32", .i32(-2_000_000_000))
        w.add("test.u64", .u64(1 << 40)); w.add("test.i64", .i64(-(1 << 50)))
        w.add("test.f32", .f32(1.5)); w.add("test.f64", .f64(0.1))
        w.add("test.bool", .bool(true)); w.add("test.false", .bool(false))
        w.add("test.empty", .string("")); w.add("test.unicode", .string("héllo ☃"))
        w.add("test.strings", .array(elementType: 8, [.string("a"), .string("bc"), .string("☃")]))
        w.add("test.ints", .array(elementType: 5, [.i32(1), .i32(-2), .i32(3)]))
        w.add("test.u8s", .array(elementType: 0, [.u8(1), .u8(2), .u8(255)]))
        w.add("test.u64s", .array(elementType: 10, [.u64(7), .u64(1 << 62)]))
        w.add("test.floats", .array(elementType: 6, [.f32(0.5), .f32(-1.25)]))
        w.add("test.f64s", .array(elementType: 12, [.f64(0.1)]))
        w.add("test.bools", .array(elementType: 7, [.bool(true), .bool(false)]))
        w.add("test.nested", .array(elementType: 9, [.array(elementType: 4, [.u32(1), .u32(2)]),
                                                     .array(elementType: 8, [.string("x")])]))
        w.add("test.emptyArray", .array(elementType: 4, []))
        w.add(tensor: "norm.weight", shape: [5], type: .f32, data: rawBytes(norm))
        w.add(tensor: "proj.weight", shape: [4, 3], type: .f16, data: rawBytes(proj))
        w.add(tensor: "q8.weight", shape: [64, 2], type: .q8_0, data: q8Blocks)
        w.add(tensor: "cube", shape: [2, 3, 4], type: .f32, data: rawBytes(cube))
        w.add(tensor: "bf", shape: [3], type: .bf16, data: rawBytes(bf16))
        return w
    }

    func open(_ w: inout GGUFWriter) throws -> (GGUFFile, TempFile, [UInt8]) {
        let bytes = w.bytes()
        let file = TempFile(bytes)
        return (try GGUFFile.open(path: file.path), file, bytes)
    }

    func testMetadataOfEveryType() throws {
        var w = Self.sampleWriter()
        let (f, _, _) = try open(&w)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.metadata.count, w.metadata.count)
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        XCTAssertEqual(try f.int("test.u8"), 200)
        XCTAssertEqual(try f.int("test.i8"), -100)
        XCTAssertEqual(try f.int("test.u16"), 60000)
        XCTAssertEqual(try f.int("test.i16"), -30000)
        XCTAssertEqual(try f.int("test.u32"), 4_000_000_000)
        XCTAssertEqual(try f.int("test.i32"), -2_000_000_000)
        XCTAssertEqual(try f.int("test.u64"), 1 << 40)
        XCTAssertEqual(try f.int("test.i64"), -(1 << 50))
        XCTAssertEqual(try f.float("test.f32"), 1.5)
        XCTAssertEqual(f.metadata["test.f64"], .float(0.1))
        XCTAssertEqual(try f.float("test.u8"), 200, "an integer reads as a float")
        XCTAssertEqual(try f.boolIfPresent("test.bool"), true)
        XCTAssertEqual(try f.boolIfPresent("test.false"), false)
        XCTAssertEqual(try f.string("test.empty"), "")
        XCTAssertEqual(try f.string("test.unicode"), "héllo ☃")
        XCTAssertEqual(try f.stringArray("test.strings"), ["a", "bc", "☃"])
        XCTAssertEqual(try f.intArray("test.ints"), [1, -2, 3])
        XCTAssertEqual(try f.intArray("test.u8s"), [1, 2, 255])
        XCTAssertEqual(try f.intArray("test.u64s"), [7, 1 << 62])
        XCTAssertEqual(try f.floatArray("test.floats"), [0.5, -1.25])
        XCTAssertEqual(f.metadata["test.f64s"], .floatArray([0.1]))
        XCTAssertEqual(f.metadata["test.bools"], .boolArray([true, false]))
        XCTAssertEqual(f.metadata["test.nested"], .arrayOfArrays([.intArray([1, 2]), .stringArray(["x"])]))
        XCTAssertEqual(try f.intArray("test.emptyArray"), [])
        XCTAssertEqual(f.alignment, 32)

        // IfPresent forms: nil when absent, the value when present.
        XCTAssertNil(try f.intIfPresent("nope"))
        XCTAssertNil(try f.floatIfPresent("nope"))
        XCTAssertNil(try f.stringIfPresent("nope"))
        XCTAssertNil(try f.stringArrayIfPresent("nope"))
        XCTAssertNil(try f.floatArrayIfPresent("nope"))
        XCTAssertNil(try f.intArrayIfPresent("nope"))
        XCTAssertEqual(try f.intIfPresent("test.u16"), 60000)
        XCTAssertEqual(try f.stringIfPresent("general.architecture"), "llama")
    }

    func testTypedAccessorsRejectMissingAndMistypedKeys() throws {
        var w = Self.sampleWriter()
        let (f, file, _) = try open(&w)
        func expectBadInput(_ body: () throws -> Any?, _ fragment: String, line: UInt = #line) {
            XCTAssertThrowsError(try body(), line: line) { error in
                guard case VLMError.badInput(let m) = error else { return XCTFail("\(error)", line: line) }
                XCTAssertTrue(m.hasPrefix(file.path) && m.contains(fragment), m, line: line)
            }
        }
        expectBadInput({ try f.int("nope") }, "missing metadata nope")
        expectBadInput({ try f.int("general.architecture") }, "is not an integer")
        expectBadInput({ try f.float("test.unicode") }, "is not a number")
        expectBadInput({ try f.string("test.u8") }, "is not a string")
        expectBadInput({ try f.stringArray("test.ints") }, "is not an array of strings")
        expectBadInput({ try f.intArray("test.strings") }, "is not an array of integers")
        expectBadInput({ try f.floatArray("nope") }, "missing metadata")
        expectBadInput({ try f.intIfPresent("test.strings") }, "is not an integer")
        expectBadInput({ try f.boolIfPresent("test.u8") }, "is not a bool")
        expectBadInput({ try f.matrix(named: "nope") }, "missing tensor nope")
        expectBadInput({ try f.matrix(named: "norm.weight") }, "expected 2-D")
        expectBadInput({ try f.vector(named: "nope") }, "missing tensor nope")
    }

    func testTensorInfosAndData() throws {
        var w = Self.sampleWriter()
        let (f, _, bytes) = try open(&w)
        XCTAssertEqual(f.tensors.map(\.name), ["norm.weight", "proj.weight", "q8.weight", "cube", "bf"])
        XCTAssertEqual(f.tensors.map(\.shape), [[5], [4, 3], [64, 2], [2, 3, 4], [3]])
        XCTAssertEqual(f.tensors.map(\.type), [.f32, .f16, .q8_0, .f32, .bf16])
        XCTAssertEqual(f.tensors.map(\.elementCount), [5, 12, 128, 24, 3])
        XCTAssertEqual(f.tensors.map(\.byteCount), [20, 24, 136, 96, 6])
        let dataStart = w.fields["data"]!
        XCTAssertEqual(dataStart % 32, 0)
        for t in f.tensors {
            XCTAssertEqual((t.offset - dataStart) % 32, 0, "\(t.name) aligned")
            XCTAssertEqual(f.tensor(named: t.name)?.offset, t.offset)
            XCTAssertLessThanOrEqual(t.offset + t.byteCount, bytes.count)
        }
        XCTAssertNil(f.tensor(named: "missing"))

        let cube = f.tensor(named: "cube")!
        let raw = UnsafeRawBufferPointer(start: f.data(of: cube), count: cube.byteCount)
        XCTAssertEqual(Array(raw.bindMemory(to: Float.self)), Self.cube)

        XCTAssertEqual(try f.vector(named: "norm.weight"), Self.norm)
        XCTAssertEqual(try f.vector(named: "bf"), [1, -2, Float(bitPattern: 0x0001_0000)])
        XCTAssertEqual(try f.vector(named: "cube"), Self.cube, "any rank flattens")

        let proj = try f.matrix(named: "proj.weight")
        XCTAssertEqual([proj.rows, proj.cols], [3, 4])
        var rows = [Float](repeating: 0, count: 12)
        proj.dequantizeRows(0..<3, into: &rows)
        XCTAssertEqual(rows, Self.proj.map(Float.init))

        let q8 = try f.matrix(named: "q8.weight")
        XCTAssertEqual([q8.rows, q8.cols], [2, 64])
        var q8Rows = [Float](repeating: 0, count: 64)
        q8.dequantizeRows(1..<2, into: &q8Rows)
        XCTAssertEqual(q8Rows, (0..<64).map { Self.q8Value(1, $0) })
        let x = (0..<64).map { Float($0 % 5) - 2 }
        var y = [Float](repeating: 0, count: 2)
        q8.matVec(x, &y)
        for r in 0..<2 {
            let expected = (0..<64).map { Self.q8Value(r, $0) * x[$0] }.reduce(0, +)
            XCTAssertEqual(y[r], expected, accuracy: 0.02 * (1 + abs(expected)))
        }
    }

    func testVersion2AndCustomAlignment() throws {
        var w = Self.sampleWriter(version: 2)
        w.alignment = 64
        w.add("general.alignment", .u32(64))
        let (f, _, _) = try open(&w)
        XCTAssertEqual(f.version, 2)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(w.fields["data"]! % 64, 0)
        for t in f.tensors { XCTAssertEqual((t.offset - w.fields["data"]!) % 64, 0) }
        XCTAssertEqual(try f.vector(named: "cube"), Self.cube)
        XCTAssertEqual(try f.vector(named: "norm.weight"), Self.norm)
    }

    /// Block geometry of every ggml type, as ggml's block structs define it (gguf-py's table,
    /// except Q8_1, whose block is 36 bytes in ggml and a stale 40 in gguf-py).
    func testTypeGeometryMatchesGGML() {
        let expected: [UInt32: (Int, Int)] = [
            0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
            10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
            16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18), 21: (256, 110),
            22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8),
            29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17)]
        XCTAssertEqual(Set(GGMLType.allCases.map(\.rawValue)), Set(expected.keys))
        for t in GGMLType.allCases {
            XCTAssertEqual(t.blockSize, expected[t.rawValue]!.0, "\(t)")
            XCTAssertEqual(t.blockBytes, expected[t.rawValue]!.1, "\(t)")
        }
        XCTAssertEqual(GGMLType.allCases.filter(\.isSupported).map(\.description).sorted(),
                       ["BF16", "F16", "F32", "Q4_0", "Q4_1", "Q4_K", "Q5_0", "Q5_1", "Q5_K", "Q6_K", "Q8_0"])
        XCTAssertEqual(GGMLType.q4_K.rowBytes(512), 288)
        XCTAssertNil(GGMLType.q4_K.rowBytes(100))
    }

    func testEmptyFileWithNoTensors() throws {
        var w = GGUFWriter()
        let (f, _, bytes) = try open(&w)
        XCTAssertEqual(bytes.count, 32, "header padded to the alignment")
        XCTAssertTrue(f.tensors.isEmpty)
        XCTAssertTrue(f.metadata.isEmpty)
    }
}
