import Foundation
import XCTest

/// Runs the built `vlm` binary (it sits next to the test bundle in the build folder) and
/// returns its exit code and output. Without the binary the test is skipped, unless
/// VLM_REQUIRE_MODELS=1 (`make test`, CI), where it fails: CI must never pass by skipping.
public func runVLM(_ arguments: [String], stdin: Data? = nil) throws -> (code: Int32, stdout: String, stderr: String) {
    let bin = try vlmBinary()
    let p = Process()
    p.executableURL = bin
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    if let stdin {
        let input = Pipe()
        p.standardInput = input
        try p.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
    } else {
        try p.run()
    }
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// The `vlm` binary next to the test bundle (skip or fail as `runVLM` says when it is missing).
public func vlmBinary() throws -> URL {
    let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent("vlm")
    guard FileManager.default.isExecutableFile(atPath: bin.path) else {
        if ProcessInfo.processInfo.environment["VLM_REQUIRE_MODELS"] == "1" {
            XCTFail("vlm binary not built next to the tests (\(bin.path))")
            throw CocoaError(.fileNoSuchFile)
        }
        throw XCTSkip("vlm binary not built next to the tests (\(bin.path)); `swift build` first")
    }
    return bin
}

/// The tiny transformers-made VLM fixtures (Tests/VisionTests/Fixtures/vlms/<model_type>).
public let vlmFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../VisionTests/Fixtures/vlms").standardized.path
