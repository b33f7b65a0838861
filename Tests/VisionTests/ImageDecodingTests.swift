import XCTest
import Foundation
import VLMRuntime
@testable import Vision

/// libjpeg and libpng through the decoders, on Samples/ files with known pixels
/// (tools/draw_samples.py draws them; scripts/make_samples.sh encodes the JPEGs).
final class ImageDecodingTests: XCTestCase {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Samples").standardized.path

    /// The 8 colours of pattern.png, one 8x8 block each, 4 across and 2 down.
    static let pattern: [(UInt8, UInt8, UInt8)] = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0),
                                                   (0, 255, 255), (255, 0, 255), (255, 255, 255), (32, 64, 128)]

    func sample(_ name: String) -> String { Self.samples + "/" + name }

    func blockCentre(_ i: Int) -> (Int, Int) { ((i % 4) * 8 + 4, (i / 4) * 8 + 4) }

    func testPNGDecodesExactPixels() throws {
        let img = try ImageLoader.load(path: sample("pattern.png"))
        XCTAssertEqual(img.width, 32); XCTAssertEqual(img.height, 16)
        for (i, c) in Self.pattern.enumerated() {
            for (dx, dy) in [(-4, -4), (3, 3), (0, 0)] {
                let (x, y) = blockCentre(i)
                XCTAssertTrue(img[x + dx, y + dy] == c, "block \(i) at \(x + dx),\(y + dy): \(img[x + dx, y + dy]) != \(c)")
            }
        }
    }

    func assertClose(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8), _ tol: Int, _ what: String) {
        let d = max(abs(Int(a.0) - Int(b.0)), abs(Int(a.1) - Int(b.1)), abs(Int(a.2) - Int(b.2)))
        XCTAssertLessThanOrEqual(d, tol, "\(what): \(a) vs \(b)")
    }

    func testBaselineAndProgressiveJPEGDecodeToPatternColours() throws {
        for name in ["pattern.jpg", "progressive.jpg"] {
            let img = try ImageLoader.load(path: sample(name))
            XCTAssertEqual(img.width, 32); XCTAssertEqual(img.height, 16)
            for (i, c) in Self.pattern.enumerated() {
                let (x, y) = blockCentre(i)
                assertClose(img[x, y], c, 4, "\(name) block \(i)")
            }
        }
    }

    func testGrayscaleJPEGIsReplicatedToRGB() throws {
        let img = try ImageLoader.load(path: sample("gray.jpg"))
        var distinct = Set<UInt8>()
        for y in 0..<img.height { for x in 0..<img.width {
            let (r, g, b) = img[x, y]
            XCTAssertTrue(r == g && g == b)
            distinct.insert(r)
        } }
        XCTAssertGreaterThan(distinct.count, 4, "the pattern's colours give several grey levels")
        // ITU-R 601 luma of pure red is 0.299 * 255 = 76.
        XCTAssertEqual(Double(img[4, 4].0), 76, accuracy: 3)
    }

    func testPNGAlphaIsDroppedNotComposited() throws {
        let img = try ImageLoader.load(path: sample("rgba.png"))
        XCTAssertTrue(img[2, 2] == (200, 40, 40))
        XCTAssertTrue(img[12, 5] == (10, 200, 30), "RGB under alpha 0 is kept, as PIL's convert(\"RGB\") does")
    }

    func testTruncatedAndGarbageInputsAreBadInput() throws {
        for name in ["pattern.jpg", "progressive.jpg", "shapes.png", "shapes.jpg"] {
            let bytes = [UInt8](FileManager.default.contents(atPath: sample(name))!)
            for cut in [bytes.count / 2, bytes.count - 20, 40] {
                XCTAssertThrowsError(try ImageLoader.decode(Array(bytes.prefix(cut)), source: name)) { e in
                    XCTAssertEqual((e as? VLMError)?.exitCode, 3, "\(name) cut at \(cut): \(e)")
                }
            }
        }
        var rng = SeededGenerator(seed: 5)
        let garbage = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        XCTAssertThrowsError(try ImageLoader.decode(garbage, source: "garbage"))
        XCTAssertThrowsError(try ImageLoader.decode([0xFF, 0xD8, 0xFF] + garbage, source: "garbage.jpg"))
    }

    /// A PNG header claiming 100000 x 100000 pixels is refused from the header, before any
    /// allocation (the file itself is tiny).
    func testDecompressionBombIsRefusedFromTheHeader() throws {
        var png = [UInt8](FileManager.default.contents(atPath: sample("pattern.png"))!)
        // IHDR width/height at bytes 16..<24; the CRC is now wrong, so patch it too.
        let big: [UInt8] = [0, 1, 0x86, 0xA0]  // 100000
        png.replaceSubrange(16..<20, with: big); png.replaceSubrange(20..<24, with: big)
        let crc = CRC32.checksum(png[12..<29])
        png.replaceSubrange(29..<33, with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
        XCTAssertThrowsError(try ImageLoader.decode(png, source: "bomb.png")) { e in
            XCTAssertTrue("\(e)".contains("megapixel limit"), "\(e)")
        }
        let img = try ImageLoader.load(path: sample("shapes.png"))
        XCTAssertThrowsError(try ImageLoader.load(path: sample("shapes.jpg"), maxPixels: img.width * img.height - 1))
    }

    func testShapesSceneHasItsObjects() throws {
        let img = try ImageLoader.load(path: sample("shapes.png"))
        XCTAssertTrue(img[110, 128] == (220, 30, 30), "red circle centre")
        XCTAssertTrue(img[274, 128] == (30, 60, 220), "blue square centre")
        XCTAssertTrue(img[5, 5] == (255, 255, 255), "white background")
    }
}
