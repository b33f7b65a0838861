import Foundation
import XCTest
import VLMRuntime
@testable import Vision

/// WebP, BMP, GIF and TIFF through FFmpeg, and CMYK JPEG through libjpeg: detected by content,
/// not extension; pixels against PIL's convert("RGB") (tools/make_format_fixtures.py);
/// hostile and broken files refused.
final class FFmpegImageFormatTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/formats").path

    struct Expected: Decodable { let width: Int; let height: Int; let pixels: [String: [UInt8]] }

    func testFormatsMatchPIL() throws {
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: Self.dir + "/expected.json")))
        for (name, reference) in e.pixels.sorted(by: { $0.key < $1.key }) {
            let path = Self.dir + "/" + name
            let image = try ImageLoader.load(path: path)
            XCTAssertEqual([image.width, image.height], [e.width, e.height], name)
            let err = zip(image.pixels, reference).map { abs(Int($0) - Int($1)) }.max() ?? 255
            // Lossless formats; GIF goes through a palette, which both decoders read exactly;
            // the CMYK JPEG (libjpeg, not FFmpeg) may round a few levels differently from PIL's.
            XCTAssertLessThanOrEqual(err, name.hasSuffix(".jpg") ? 4 : 1, name)
            // The same bytes from memory (as the server receives them) decode the same.
            let fromMemory = try ImageLoader.decode([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), source: name)
            XCTAssertEqual(fromMemory, image, name)
        }
    }

    func testHostileAndBrokenFilesAreBadInput() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-formats-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let webp = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/image.webp"))
        let truncated = tmp.appendingPathComponent("truncated.webp")
        try webp.prefix(30).write(to: truncated)
        for path in [Self.dir + "/huge.bmp", truncated.path] {
            XCTAssertThrowsError(try ImageLoader.load(path: path)) { error in
                guard case VLMError.badInput(let m) = error else { return XCTFail("\(path): \(error)") }
                XCTAssertFalse(m.contains("\n"))
            }
        }
    }
}
