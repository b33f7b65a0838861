import Foundation
import XCTest
import TestSupport
@testable import Vision

/// `vlm describe` / `ask` / `logits` on bad images: exit code 3 and one clear line on stderr,
/// with the tiny LLaVA fixture as the model so the image path is what fails.
final class CLIImageBadInputTests: XCTestCase {
    static let model = vlmFixtures + "/llava"
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples").standardized.path

    func run(_ arguments: [String]) throws -> (code: Int32, stdout: String, stderr: String) { try runVLM(arguments) }

    func testBadImagesExitWithCode3AndOneLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-img-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let jpeg = try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/shapes.jpg"))
        var corrupt = jpeg
        for i in stride(from: 700, to: min(corrupt.count, 1400), by: 3) { corrupt[i] = 0xFF }  // markers everywhere in the scan
        // A valid PNG signature and IHDR claiming 100000 x 100000 pixels: refused from the header.
        var huge = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]) + Data("IHDR".utf8)
        huge += Data([0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0, 8, 2, 0, 0, 0, 0, 0, 0, 0])
        let cases: [(String, Data)] = [("zero.jpg", Data()), ("truncated.jpg", jpeg.prefix(jpeg.count / 3)),
                                       ("corrupt.jpg", corrupt), ("huge.png", huge), ("notes.png", Data("not an image\n".utf8))]
        for (name, bytes) in cases {
            let path = dir.appendingPathComponent(name).path
            try bytes.write(to: URL(fileURLWithPath: path))
            for args in [["describe", "--model", Self.model, "--max-tokens", "2", path],
                         ["ask", "--model", Self.model, "--max-tokens", "2", path, "What?"]] {
                let r = try run(args)
                XCTAssertEqual(r.code, 3, "\(name) \(args[0]): \(r.stderr)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(name): \(r.stderr)")
                XCTAssertTrue(r.stderr.hasPrefix("vlm: bad input"), r.stderr)
                XCTAssertEqual(r.stdout, "", name)
            }
        }
        let json = try run(["describe", "--model", Self.model, "--json", dir.appendingPathComponent("zero.jpg").path])
        XCTAssertEqual(json.code, 3)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        XCTAssertEqual((object?["error"] as? [String: Any])?["kind"] as? String, "bad_input")
        XCTAssertNotNil(object?["input"] as? String)
    }

    func testDescribeReportsVisualTokenCounts() throws {
        let r = try run(["describe", "--model", Self.model, "--max-tokens", "3", "--json", Self.samples + "/shapes.png"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let tokens = object?["tokens"] as? [String: Any]
        XCTAssertEqual(tokens?["visual_before"] as? Int, 64)
        XCTAssertEqual(tokens?["visual_after"] as? Int, 64)
        XCTAssertEqual(tokens?["generated"] as? Int, 3)
    }
}

/// Reducer options out of range are usage errors (exit code 2) with a clear message.
final class CLIReducerOptionTests: XCTestCase {
    func testBadReducerOptionsExitWithCode2() throws {
        let image = CLIImageBadInputTests.samples + "/shapes.png", model = CLIImageBadInputTests.model
        let cases: [[String]] = [
            ["--reducer", "nope", "--keep", "8"], ["--reducer", "divprune", "--keep", "0"], ["--reducer", "divprune"],
            ["--reducer", "divprune", "--keep", "1000"], ["--reducer", "visionzip", "--keep", "8", "--reducer-opt", "nope=1"],
            ["--reducer", "hiprune", "--keep", "8", "--reducer-opt", "alpha=7"], ["--keep", "8"],
            ["--reducer", "pool", "--keep", "8", "--keep-ratio", "0.5"],
        ]
        for extra in cases {
            let r = try runVLM(["describe", "--model", model, "--max-tokens", "1"] + extra + [image])
            XCTAssertEqual(r.code, 2, "\(extra): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty, "\(extra)")
            XCTAssertLessThanOrEqual(r.stderr.split(separator: "\n").count, 3, "\(extra): \(r.stderr)")
        }
        let ok = try runVLM(["describe", "--model", model, "--max-tokens", "1", "--reducer", "visionzip", "--keep", "16", "--json", image])
        XCTAssertEqual(ok.code, 0, ok.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["reducer"] as? String, "visionzip")
        XCTAssertEqual((object?["tokens"] as? [String: Any])?["visual_after"] as? Int, 16)
        XCTAssertEqual((object?["tokens"] as? [String: Any])?["visual_before"] as? Int, 64)
    }

    /// --show-kept writes a PNG that our own decoder reads back: every encoder image side by
    /// side (one 112-px image for the tiny LLaVA), dropped patches dimmed.
    func testShowKeptWritesAPicture() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("kept-\(getpid()).png").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try runVLM(["describe", "--model", CLIImageBadInputTests.model, "--max-tokens", "1", "--reducer", "divprune",
                            "--keep", "16", "--show-kept", out, CLIImageBadInputTests.samples + "/shapes.png"])
        XCTAssertEqual(r.code, 0, r.stderr)
        let picture = try ImageLoader.load(path: out)
        XCTAssertEqual([picture.width, picture.height], [112, 112])
        // 16 of 64 patches kept: most 14x14 cells are dimmed, so the mean brightness drops.
        let mean = picture.pixels.reduce(0) { $0 + Int($1) } / picture.pixels.count
        XCTAssertLessThan(mean, 128)
    }
}
