import Foundation
import XCTest
import VLMRuntime

/// Runs the built `vlm` binary (it sits next to the test bundle in the build folder) and
/// returns its exit code and output. Skips when the binary has not been built.
func runVLM(_ arguments: [String]) throws -> (code: Int32, stdout: String, stderr: String) {
    let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent("vlm")
    guard FileManager.default.isExecutableFile(atPath: bin.path) else {
        throw XCTSkip("vlm binary not built next to the tests (\(bin.path)); `swift build` first")
    }
    let p = Process()
    p.executableURL = bin
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile(), stderr = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}
