import XCTest
import Foundation
@testable import VLMRuntime

/// safetensors files are read through a JSON header whose numbers come from the file; every
/// hostile variant must be refused as bad input (exit code 3), never trap or over-allocate.
final class SafetensorsHostileInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-st-\(getpid())-\(name.hashValue)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A file from a header string and data bytes (the length prefix is computed unless given).
    func file(_ header: String, data: [UInt8], length: UInt64? = nil, name: String = "model.safetensors") throws -> String {
        var bytes = [UInt8]()
        let h = Array(header.utf8)
        var n = (length ?? UInt64(h.count)).littleEndian
        withUnsafeBytes(of: &n) { bytes += $0 }
        bytes += h + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    static let values: [Float] = [1.5, -2, 0.25, 8, 3, -1]
    var valueBytes: [UInt8] { Self.values.withUnsafeBytes { Array($0) } }

    func testValidFileReads() throws {
        let path = try file(#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#, data: valueBytes)
        let f = try SafetensorsFile(path: path)
        XCTAssertEqual(try f.floats(named: "w"), Self.values)
        let m = try f.matrix(named: "w")
        XCTAssertEqual(m.rows, 2); XCTAssertEqual(m.cols, 3)
        XCTAssertEqual(f.metadata["format"], "pt")
    }

    /// F16 and BF16 widen exactly; a scalar (shape []) and empty tensors read without touching data.
    func testOtherDtypesScalarsAndEmptyTensors() throws {
        let half: [Float16] = [1, -0.5, 65504]
        let bf: [UInt16] = [0x3F80, 0xC000]  // 1, -2
        var data = valueBytes
        data += half.withUnsafeBytes { Array($0) } + [0, 0] + bf.withUnsafeBytes { Array($0) }
        let header = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"h":{"dtype":"F16","shape":[3],"data_offsets":[24,30]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[32,36]},"s":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"#
            + #""e":{"dtype":"F32","shape":[0],"data_offsets":[36,36]},"z":{"dtype":"F16","shape":[4,0],"data_offsets":[0,0]}}"#
        let f = try SafetensorsFile(path: try file(header, data: data))
        XCTAssertEqual(try f.floats(named: "h"), [1, -0.5, 65504])
        XCTAssertEqual(try f.floats(named: "b"), [1, -2])
        XCTAssertEqual(try f.floats(named: "s"), [1.5])
        XCTAssertEqual(try f.floats(named: "e"), [])
        XCTAssertEqual(try f.floats(named: "z"), [])
        XCTAssertThrowsError(try f.floats(named: "missing")) { XCTAssertEqual(($0 as? VLMError)?.exitCode, 3) }
        XCTAssertThrowsError(try f.matrix(named: "h")) { XCTAssertEqual(($0 as? VLMError)?.exitCode, 3) }
    }

    func assertBad(_ header: String, data: [UInt8]? = nil, length: UInt64? = nil, _ what: String,
                   file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try self.file(header, data: data ?? valueBytes, length: length)
        XCTAssertThrowsError(try SafetensorsFile(path: path), what, file: file, line: line) { e in
            XCTAssertEqual((e as? VLMError)?.exitCode, 3, "\(what): \(e)", file: file, line: line)
        }
    }

    func testHostileHeaders() throws {
        let ok = #"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#
        try assertBad(ok, length: 1 << 40, "header length past the end")
        try assertBad(ok, length: UInt64.max, "header length 2^64-1")
        try assertBad(ok, length: 1, "header length too short")
        try assertBad("not json at all", "header not JSON")
        try assertBad("[1,2,3]", "header is an array")
        try assertBad(#"{"w":{"dtype":"I64","shape":[3],"data_offsets":[0,24]}}"#, "unsupported dtype")
        try assertBad(#"{"w":{"dtype":"F8_E4M3","shape":[24],"data_offsets":[0,24]}}"#, "unsupported dtype")
        try assertBad(#"{"w":{"dtype":"F32","shape":[-2,3],"data_offsets":[0,24]}}"#, "negative dimension")
        try assertBad(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,2400]}}"#, "offsets past the end")
        try assertBad(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[8,4]}}"#, "end before begin")
        try assertBad(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,24]}}"#, "byte count does not match shape")
        try assertBad(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,24]}}"#, "shape overflow")
        try assertBad(#"{"w":{"dtype":"F32","shape":[2,3]}}"#, "missing data_offsets")
        try assertBad(#"{"w":"nonsense"}"#, "entry not an object")
        try assertBad(ok, length: 1 << 63, "header length 2^63")
        try assertBad(#"{"w":{"dtype":"F8","shape":[24],"data_offsets":[0,24]}}"#, "dtype F8")
        try assertBad(#"{"w":{"dtype":"F32","shape":[1e30],"data_offsets":[0,24]}}"#, "dimension 1e30")
        try assertBad(#"{"w":{"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,24]}}"#, "dimension 2^64")
        try assertBad(#"{"w":{"dtype":"F32","shape":[6.5],"data_offsets":[0,24]}}"#, "fractional dimension")
        try assertBad(#"{"w":{"dtype":"F32","shape":["6"],"data_offsets":[0,24]}}"#, "string dimension")
        try assertBad(#"{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,1e300]}}"#, "offset 1e300")
        try assertBad(#"{"w":{"dtype":"F32","shape":[6],"data_offsets":[-24,0]}}"#, "negative offset")
        try assertBad(#"{"w":{"dtype":"F32","shape":[6],"data_offsets":[0,24,48]}}"#, "three offsets")
        try assertBad(#"{"w":{"dtype":"F32","shape":[6],"data_offsets":[-9223372036854775808,24]}}"#, "offset Int.min")
        try assertBad(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"v":{"dtype":"F32","shape":[9223372036854775807],"data_offsets":[0,24]}}"#, "dimension Int.max")
        XCTAssertThrowsError(try SafetensorsFile(path: dir.appendingPathComponent("missing").path))
        try Data([1, 2, 3]).write(to: dir.appendingPathComponent("tiny"))
        XCTAssertThrowsError(try SafetensorsFile(path: dir.appendingPathComponent("tiny").path))
    }

    func testEveryTruncationIsRefused() throws {
        let path = try file(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#, data: valueBytes)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        for cut in 0..<full.count {
            try full.prefix(cut).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try SafetensorsFile(path: path), "cut at \(cut)")
        }
    }

    func testShardIndexCannotEscapeTheDirectoryOrNameMissingTensors() throws {
        _ = try file(#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#, data: valueBytes, name: "a.safetensors")
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        try Data(#"{"weight_map":{"w":"../a.safetensors"}}"#.utf8).write(to: index)
        XCTAssertThrowsError(try TensorCheckpoint(directory: dir.path)) { XCTAssertEqual(($0 as? VLMError)?.exitCode, 3) }
        try Data(#"{"weight_map":{"v":"a.safetensors"}}"#.utf8).write(to: index)
        XCTAssertThrowsError(try TensorCheckpoint(directory: dir.path)) { XCTAssertEqual(($0 as? VLMError)?.exitCode, 3) }
        try Data(#"{"weight_map":{"w":"a.safetensors"}}"#.utf8).write(to: index)
        XCTAssertEqual(try TensorCheckpoint(directory: dir.path).floats(named: "w"), Self.values)
    }
}
