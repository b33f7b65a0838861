import XCTest
import Foundation
import VLMRuntime
@testable import Vision

/// The decoders must give what the reference preprocessors see: PIL's
/// `Image.open(path).convert("RGB")`. The rules below were checked against Pillow 13.0 on the
/// same kinds of files (every PNG colour type and depth, gAMA/cHRM/sRGB/tRNS, Adam7, CMYK JPEG);
/// the PNGs here are built in memory by `PNGWriter`, so each expected value follows from a rule.
final class PILConversionTests: XCTestCase {
    /// A deterministic spread of sample values (including low bytes above 0x80, which show
    /// rounding where PIL truncates).
    func values(_ n: Int, below limit: Int, seed: Int) -> [Int] {
        (0..<n).map { ($0 * 40_503 + seed * 7_919 + ($0 * $0) * 977) % limit }
    }

    func decode(_ png: [UInt8], _ name: String) throws -> RGBImage {
        try ImageLoader.decode(png, source: name)
    }

    /// gAMA, cHRM and sRGB chunks are ignored (libpng's simplified API would gamma-correct).
    func testColourChunksDoNotChangeEightBitValues() throws {
        let w = 6, h = 3
        let rows = (0..<h).map { values(w * 3, below: 256, seed: $0) }
        let gamma1 = [("gAMA", PNGWriter.be32(100_000))]
        let chrm = [("cHRM", [31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000].flatMap(PNGWriter.be32))]
        for chunks in [gamma1, gamma1 + chrm, [("gAMA", PNGWriter.be32(20_000))], [("sRGB", [0])]] {
            let img = try decode(PNGWriter.encode(width: w, height: h, depth: 8, colorType: 2, samples: rows,
                                                  chunksBeforeData: chunks), "gamma.png")
            XCTAssertEqual(img.pixels, rows.flatMap { $0.map(UInt8.init) }, "\(chunks.map { $0.0 })")
        }
    }

    /// 16-bit RGB(A) and grey+alpha keep the high byte; alpha is dropped, not composited.
    func testSixteenBitKeepsTheHighByte() throws {
        let w = 5, h = 2
        let rgba = (0..<h).map { values(w * 4, below: 65536, seed: $0 + 3) }
        var img = try decode(PNGWriter.encode(width: w, height: h, depth: 16, colorType: 6, samples: rgba,
                                              chunksBeforeData: [("gAMA", PNGWriter.be32(100_000))]), "rgba16.png")
        XCTAssertEqual(img.pixels, rgba.flatMap { row in (0..<w).flatMap { x in row[(4 * x)..<(4 * x + 3)].map { UInt8($0 >> 8) } } })
        let ga = (0..<h).map { values(w * 2, below: 65536, seed: $0 + 9) }
        img = try decode(PNGWriter.encode(width: w, height: h, depth: 16, colorType: 4, samples: ga), "ga16.png")
        XCTAssertEqual(img.pixels, ga.flatMap { row in (0..<w).flatMap { x in Array(repeating: UInt8(row[2 * x] >> 8), count: 3) } })
    }

    /// 16-bit grey opens in PIL as "I;16", whose conversion to RGB clips at 255 (not >> 8).
    func testSixteenBitGreyIsClippedAsPILDoes() throws {
        let grey = [[0, 7, 255, 256, 4000, 65535]]
        let img = try decode(PNGWriter.encode(width: 6, height: 1, depth: 16, colorType: 0, samples: grey), "gray16.png")
        XCTAssertEqual(img.pixels, [0, 7, 255, 255, 255, 255].flatMap { [UInt8($0), UInt8($0), UInt8($0)] })
    }

    /// Low-depth grey is scaled to 0...255; palettes expand, with tRNS ignored; grey+alpha drops alpha.
    func testPaletteLowDepthAndGreyAlpha() throws {
        let w = 7
        let two = [(0..<w).map { $0 % 4 }]
        var img = try decode(PNGWriter.encode(width: w, height: 1, depth: 2, colorType: 0, samples: two), "gray2.png")
        XCTAssertEqual(img.pixels, two[0].flatMap { Array(repeating: UInt8($0 * 85), count: 3) })

        let palette: [[UInt8]] = (0..<16).map { (i: Int) -> [UInt8] in
            [UInt8(i * 16), UInt8(255 - i * 9), UInt8(i * 5 + 1)]
        }
        let indices = [(0..<w).map { ($0 * 5) % 16 }]
        img = try decode(PNGWriter.encode(width: w, height: 1, depth: 4, colorType: 3, samples: indices,
                                          chunksBeforeData: [("PLTE", palette.flatMap { $0 }),
                                                             ("tRNS", (0..<16).map { UInt8($0 * 13) })]), "pal4.png")
        XCTAssertEqual(img.pixels, indices[0].flatMap { palette[$0] })

        let ga = [(0..<(2 * w)).map { ($0 * 37) % 256 }]
        img = try decode(PNGWriter.encode(width: w, height: 1, depth: 8, colorType: 4, samples: ga), "ga8.png")
        XCTAssertEqual(img.pixels, (0..<w).flatMap { Array(repeating: UInt8(ga[0][2 * $0]), count: 3) })
    }

    func testAdam7InterlacedMatchesNonInterlaced() throws {
        let w = 13, h = 9
        let rows = (0..<h).map { values(w * 3, below: 256, seed: $0 + 20) }
        let plain = try decode(PNGWriter.encode(width: w, height: h, depth: 8, colorType: 2, samples: rows), "plain.png")
        let adam7 = try decode(PNGWriter.encode(width: w, height: h, depth: 8, colorType: 2, samples: rows, interlaced: true), "adam7.png")
        XCTAssertEqual(plain.pixels, rows.flatMap { $0.map(UInt8.init) })
        XCTAssertEqual(adam7, plain)
    }

    /// Complete image data decodes without IEND (PIL accepts that too); a damaged IDAT does not.
    func testMissingEndIsAcceptedButADamagedImageChunkIsNot() throws {
        let rows = [[1, 2, 3, 4, 5, 6]]
        let noEnd = PNGWriter.encode(width: 2, height: 1, depth: 8, colorType: 2, samples: rows, withEnd: false)
        XCTAssertEqual(try decode(noEnd, "noend.png").pixels, [1, 2, 3, 4, 5, 6])
        var bad = noEnd
        bad[bad.count - 6] ^= 0x40  // inside the IDAT data: the chunk's CRC no longer matches
        XCTAssertThrowsError(try decode(bad, "crc.png")) { XCTAssertEqual(($0 as? VLMError)?.kind, "bad_input", "\($0)") }
    }

    /// Padding bytes between JPEG markers lose no data; libjpeg warns and PIL decodes the image.
    func testJPEGWithExtraneousBytesBetweenMarkersStillDecodes() throws {
        let path = ImageDecodingTests.samples + "/pattern.jpg"
        let jpeg = [UInt8](FileManager.default.contents(atPath: path)!)
        let firstSegmentEnd = 4 + Int(jpeg[4]) << 8 + Int(jpeg[5])
        let padded = Array(jpeg[..<firstSegmentEnd]) + [0x12, 0x34, 0x56] + Array(jpeg[firstSegmentEnd...])
        XCTAssertEqual(try ImageLoader.decode(padded, source: "padded.jpg"), try ImageLoader.decode(jpeg, source: path))
    }
}
