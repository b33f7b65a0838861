import Foundation
import XCTest
import TestSupport

/// `--pan-and-scan` from the command line: on a Gemma 3 GGUF pair a 1000x340 image is read whole
/// and as three crops (four times the visual tokens); on any other family the flag is a usage
/// error, not silently ignored.
final class PanAndScanCLITests: XCTestCase {
    static let pair = vlmFixtures + "/../gguf_pairs/gemma3_tiny"
    static let image = vlmFixtures + "/gemma3/image_pas.png"

    func visualAfter(_ extra: [String]) throws -> Int? {
        let r = try runVLM(["describe", "--model", Self.pair + "/model-f32.gguf", "--mmproj", Self.pair + "/mmproj-f16.gguf",
                            "--max-tokens", "2", "--json", Self.image] + extra)
        XCTAssertEqual(r.code, 0, r.stderr)
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return (object?["tokens"] as? [String: Any])?["visual_after"] as? Int
    }

    func testGemmaPairReadsTheCropsToo() throws {
        let whole = try XCTUnwrap(try visualAfter([]))
        XCTAssertGreaterThan(whole, 0)
        XCTAssertEqual(try visualAfter(["--pan-and-scan"]), 4 * whole)
    }

    func testOtherFamiliesRefuseTheFlag() throws {
        let r = try runVLM(["describe", "--model", vlmFixtures + "/llava", "--pan-and-scan", "--max-tokens", "2", Self.image])
        XCTAssertEqual(r.code, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--pan-and-scan is Gemma 3's"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}
