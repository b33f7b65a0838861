import XCTest
import TestSupport
import Foundation

/// The built `vlm` binary on bad model files: exit code 3 and exactly one line on stderr, as
/// ../shared/CONTRACT.md requires. The binary sits next to the test bundle in the build folder.
final class CLIBadInputTests: XCTestCase {
    func run(_ arguments: [String]) throws -> (code: Int32, stdout: String, stderr: String) { try runVLM(arguments) }

    func testTruncatedAndBogusModelsExitWithCode3() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-cli-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The start of a real GGUF header, cut short.
        var header = Data("GGUF".utf8) + Data([3, 0, 0, 0]) + Data([5, 0, 0, 0, 0, 0, 0, 0]) + Data([40, 0, 0, 0, 0, 0, 0, 0])
        header += Data([21, 0, 0, 0, 0, 0, 0, 0]) + Data("general.architecture".utf8)
        let truncated = dir.appendingPathComponent("truncated.gguf")
        try header.write(to: truncated)
        let text = dir.appendingPathComponent("notes.gguf")
        try Data("hello\n".utf8).write(to: text)
        for model in [truncated.path, text.path] {
            let r = try run(["generate", "--model", model, "--prompt", "hi"])
            XCTAssertEqual(r.code, 3, "\(model): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("vlm: bad input"), r.stderr)
            XCTAssertEqual(r.stdout, "")
        }
        let json = try run(["generate", "--model", truncated.path, "--prompt", "hi", "--json"])
        XCTAssertEqual(json.code, 3)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((object?["error"] as? [String: Any])?["kind"] as? String, "bad_input")
    }

    func testUnknownModelNameIsBadInputAndBadFlagIsUsage() throws {
        XCTAssertEqual(try run(["generate", "--model", "no-such-model", "--prompt", "hi"]).code, 3)
        for args in [["generate", "--prompt", "hi", "--kv-cache", "q3"], ["generate"], ["generate", "--prompt", "hi", "--top-p", "0"],
                     ["no-such-command"]] {
            let r = try run(args)
            XCTAssertEqual(r.code, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty)
        }
    }
}
