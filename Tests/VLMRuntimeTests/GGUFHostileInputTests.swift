import XCTest
import TestSupport
@testable import VLMRuntime

/// Corrupted and hostile GGUF headers: every one must be refused with `VLMError.badInput`
/// naming the file (a valid file of an unimplemented tensor type with `.unsupported`), and none
/// may crash, hang or allocate from an unchecked count.
final class GGUFHostileInputTests: XCTestCase {
    var writer = GGUFParserTests.sampleWriter()
    lazy var valid: [UInt8] = writer.bytes()
    func field(_ name: String) -> Int { _ = valid; return writer.fields[name]! }

    /// Opens `bytes` and asserts a badInput error whose message names the file and contains `fragment`.
    func assertBadInput(_ bytes: [UInt8], _ fragment: String = "", _ what: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        let temp = TempFile(bytes, name: "hostile")
        XCTAssertThrowsError(try GGUFFile.open(path: temp.path), what, file: file, line: line) { error in
            guard case VLMError.badInput(let message) = error else {
                return XCTFail("\(what): expected badInput, got \(error)", file: file, line: line)
            }
            XCTAssertTrue(message.hasPrefix(temp.path + ":"), "\(what): \(message)", file: file, line: line)
            XCTAssertTrue(fragment.isEmpty || message.contains(fragment), "\(what): \(message)", file: file, line: line)
        }
    }

    func mutated<T: FixedWidthInteger>(_ field: String, plus: Int = 0, _ value: T) -> [UInt8] {
        var b = valid
        b.patch(self.field(field) + plus, value)
        return b
    }

    func testTheUnmodifiedFileOpens() throws {
        let temp = TempFile(valid)
        XCTAssertEqual(try GGUFFile.open(path: temp.path).tensors.count, 5)
    }

    func testEveryTruncationIsRefused() {
        let temp = TempFile([], name: "truncated")
        var failures = 0
        for n in 0..<valid.count {
            temp.write(Array(valid.prefix(n)))
            do {
                _ = try GGUFFile.open(path: temp.path)
                failures += 1
                XCTFail("prefix of \(n) bytes opened")
            } catch VLMError.badInput(let m) {
                if !m.hasPrefix(temp.path) { XCTFail(m) }
            } catch {
                XCTFail("prefix of \(n) bytes: \(error)")
            }
            if failures > 3 { break }
        }
    }

    func testMagicAndVersion() {
        assertBadInput(mutated("tensorCount", plus: -8, UInt32(0x4C4C_4747)), "not a GGUF file", "bad magic")
        assertBadInput(mutated("tensorCount", plus: -4, UInt32(1)), "unsupported GGUF version 1", "v1")
        for v: UInt32 in [0, 4, .max] {
            assertBadInput(mutated("tensorCount", plus: -4, v), "unsupported GGUF version", "version \(v)")
        }
    }

    func testAbsurdCounts() {
        for n: UInt64 in [1 << 60, .max, 1 << 21, 1000] {
            assertBadInput(mutated("tensorCount", n), "tensor count", "tensor count \(n)")
            assertBadInput(mutated("kvCount", n), "metadata count", "kv count \(n)")
        }
        // One more tensor or key than written: the parser runs out of bytes, never past them.
        assertBadInput(mutated("tensorCount", UInt64(6)), "", "tensor count + 1")
        assertBadInput(mutated("kvCount", UInt64(writer.metadata.count + 1)), "", "kv count + 1")
    }

    func testAbsurdStringAndArrayLengths() {
        let size = UInt64(valid.count)
        for n: UInt64 in [1 << 63, .max, 1 << 40, size, size - 20] {
            assertBadInput(mutated("kv.general.architecture", n), "length of metadata key", "key length \(n)")
            assertBadInput(mutated("kv.general.architecture.value", n), "length of general.architecture", "string length \(n)")
            assertBadInput(mutated("kv.test.strings.value", plus: 4, n), "length of test.strings", "array length \(n)")
            assertBadInput(mutated("kv.test.u8s.value", plus: 4, n), "length of test.u8s", "u8 array length \(n)")
            assertBadInput(mutated("kv.test.strings.value", plus: 12, n), "", "element string length \(n)")
            assertBadInput(mutated("tensor.cube", n), "length of tensor name", "tensor name length \(n)")
        }
        // An array of arrays whose inner count is absurd.
        assertBadInput(mutated("kv.test.nested.value", plus: 16, UInt64(1) << 60), "length of test.nested", "nested length")
    }

    func testUnknownValueTypes() {
        for t: UInt32 in [13, 99, .max] {
            assertBadInput(mutated("kv.test.u8.type", t), "unknown value type", "value type \(t)")
            assertBadInput(mutated("kv.test.ints.value", t), "unknown array element type", "element type \(t)")
        }
        // A bool array read as f64s needs 8 bytes per element: 2 elements no longer fit before the
        // next key, so the next key is garbage; whatever happens must be a clean error.
        assertBadInput(mutated("kv.test.bools.value", UInt32(12)), "", "retyped array")
    }

    func testNestingDuplicatesAndOutOfRangeIntegers() {
        var deep = GGUFWriter.Value.u8(1)
        for _ in 0..<8 { deep = .array(elementType: deep.typeID, [deep]) }
        var w = GGUFWriter()
        w.add("deep", deep)
        assertBadInput(w.bytes(), "nested too deeply", "deep arrays")

        w = GGUFWriter()
        w.add("k", .u8(1)); w.add("k", .u8(2))
        assertBadInput(w.bytes(), "duplicate metadata key k", "duplicate key")

        w = GGUFWriter()
        w.add(tensor: "t", shape: [1], type: .f32, data: rawBytes([Float(1)]))
        w.add(tensor: "t", shape: [1], type: .f32, data: rawBytes([Float(2)]))
        assertBadInput(w.bytes(), "duplicate tensor t", "duplicate tensor")

        assertBadInput(mutated("kv.test.u64.value", UInt64.max), "does not fit", "u64 above Int64.max")
    }

    func testAlignmentValues() {
        for a: UInt32 in [0, 3, 48, 1 << 20] {
            var w = GGUFParserTests.sampleWriter()
            w.add("general.alignment", .u32(a))
            assertBadInput(w.bytes(), "general.alignment", "alignment \(a)")
        }
        var w = GGUFParserTests.sampleWriter()
        w.add("general.alignment", .string("32"))
        assertBadInput(w.bytes(), "general.alignment is not an integer", "alignment string")
    }

    func testBadTensorShapes() {
        for n: UInt32 in [0, 5, 9, .max] {
            assertBadInput(mutated("tensor.cube.nDims", n), "dimensions", "n_dims \(n)")
        }
        assertBadInput(mutated("tensor.cube.dims", UInt64(1) << 62), "absurd dimension", "huge ne")
        assertBadInput(mutated("tensor.cube.dims", UInt64.max), "absurd dimension", "ne = -1 as i64")
        var b = valid
        b.patch(field("tensor.proj.weight.dims"), UInt64(1) << 32)
        b.patch(field("tensor.proj.weight.dims") + 8, UInt64(1) << 32)
        assertBadInput(b, "too large", "element count overflow")
        b = valid
        b.patch(field("tensor.proj.weight.dims"), UInt64(1) << 20)
        assertBadInput(b, "runs past the end", "data larger than the file")
        assertBadInput(mutated("tensor.q8.weight.dims", UInt64(48)), "whole number of Q8_0 blocks", "ne0 % 32")
    }

    func testBadTensorTypes() throws {
        for t: UInt32 in [4, 5, 31, 99, .max] {
            assertBadInput(mutated("tensor.cube.type", t), "unknown type", "type \(t)")
        }
        // Real ggml types this runtime does not read: a clear `unsupported` error naming the type.
        for (id, name) in [(10, "Q2_K"), (20, "IQ4_NL"), (28, "F64"), (39, "MXFP4")] {
            let temp = TempFile(mutated("tensor.cube.type", UInt32(id)))
            XCTAssertThrowsError(try GGUFFile.open(path: temp.path)) { error in
                guard case VLMError.unsupported(let m) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue(m.hasPrefix(temp.path) && m.contains("type \(name)"), m)
            }
        }
    }

    func testBadTensorOffsets() {
        let size = UInt64(valid.count)
        for o: UInt64 in [.max, 1 << 62, size, size + 32] {
            assertBadInput(mutated("tensor.cube.offset", o), "", "offset \(o)")
        }
        assertBadInput(mutated("tensor.norm.weight.offset", UInt64(4)), "not aligned", "misaligned")
        // The last tensor moved one alignment unit on: aligned, but its data leaves the file.
        var b = valid
        let last = field("tensor.bf.offset")
        let current = b[last..<last + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        b.patch(last, current + 32)
        assertBadInput(b, "runs past the end", "data past the end")
    }

    func testNotAFile() {
        XCTAssertThrowsError(try GGUFFile.open(path: "/nonexistent/model.gguf")) {
            XCTAssertEqual(($0 as? VLMError)?.kind, "bad_input")
        }
        XCTAssertThrowsError(try GGUFFile.open(path: NSTemporaryDirectory())) {
            XCTAssertEqual(($0 as? VLMError)?.kind, "bad_input")
        }
        assertBadInput([], "empty", "empty file")
    }

    /// Seeded random byte corruption of the header: each variant opens or fails cleanly with a
    /// VLMError; the ones that open still dequantize every tensor without touching memory outside
    /// the file.
    func testRandomHeaderCorruptionNeverCrashes() {
        var rng = SeededGenerator(seed: 77)
        let headerEnd = field("data")
        let temp = TempFile([], name: "fuzz")
        var opened = 0
        for _ in 0..<400 {
            var b = valid
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let i = Int(rng.next() % UInt64(headerEnd))
                b[i] = rng.next() % 3 == 0 ? 0xFF : UInt8(truncatingIfNeeded: rng.next())
            }
            temp.write(b)
            do {
                let f = try GGUFFile.open(path: temp.path)
                for t in f.tensors { _ = try f.vector(named: t.name) }
                opened += 1
            } catch is VLMError {
            } catch {
                XCTFail("non-VLMError \(error)")
            }
        }
        XCTAssertLessThan(opened, 400)
    }
}
