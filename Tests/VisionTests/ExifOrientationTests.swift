import Foundation
import XCTest
@testable import Vision

/// JPEGs with each EXIF orientation decode upright exactly as PIL's ImageOps.exif_transpose
/// turns them (tools/make_exif_fixtures.py); JPEG rounding may differ by a level or two.
final class ExifOrientationTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/exif").path

    struct Expected: Decodable { let width: Int; let height: Int; let pixels: [UInt8] }

    func testAllEightOrientations() throws {
        let expected = try JSONDecoder().decode([String: Expected].self, from: Data(contentsOf: URL(fileURLWithPath: Self.dir + "/expected.json")))
        for o in 1...8 {
            let path = Self.dir + "/orientation\(o).jpg"
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            XCTAssertEqual(ExifOrientation.read(jpeg: bytes) ?? 1, o)
            let image = try ImageLoader.load(path: path)
            let e = expected[String(o)]!
            XCTAssertEqual([image.width, image.height], [e.width, e.height], "orientation \(o)")
            guard image.pixels.count == e.pixels.count else { continue }
            let err = zip(image.pixels, e.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(err, 3, "orientation \(o)")
        }
    }

    func testTruncatedExifIsIgnored() {
        var bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40] + Array("Exif".utf8) + [0, 0, 0x4D, 0x4D, 0, 42]
        XCTAssertNil(ExifOrientation.read(jpeg: bytes))
        bytes += [0, 0, 0, 8, 0xFF, 0xFF]   // IFD offset beyond the data, absurd entry count
        XCTAssertNil(ExifOrientation.read(jpeg: bytes))
    }
}
