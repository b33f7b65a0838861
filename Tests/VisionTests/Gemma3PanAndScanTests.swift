import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// Gemma 3 pan-and-scan against transformers 5.23 (tools/make_gemma3_pan_and_scan_fixture.py), on
/// the Gemma 3 parity model of Gemma3VLParityTests: the crop sizes Gemma3ImageProcessorPil cuts for
/// images of ten shapes, and for one 1000x340 image read whole and as three crops the prompt ids
/// (Gemma3Processor's "Here is the original image ... and here are some crops" framing), the four
/// image runs that attend both ways, the pixels, the projector's rows of every encoder image, the
/// last logits within the families' 2e-3 and the greedy tokens.
final class Gemma3PanAndScanTests: XCTestCase {
    static let fixture = FamilyFixtures.root + "/gemma3"

    func expected() throws -> [String: Any] {
        let url = URL(fileURLWithPath: Self.fixture + "/expected_pan_and_scan.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func testCropSizesMatchTransformers() throws {
        let processor = PanAndScanProcessor(piece: ResizeCropProcessor(resize: .fixed(height: 896, width: 896), crop: nil,
                                                                       normalization: .imageNetStandard))
        let table = try expected()["crop_table"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(table.count, 8)
        var applied = 0
        for row in table {
            let w = row["width"] as! Int, h = row["height"] as! Int
            let want = (row["crops"] as! [[Int]])
            let got = processor.cropRectangles(width: w, height: h)
            XCTAssertEqual(got.map { [$0.width, $0.height] }, want, "\(w)x\(h)")
            // Crops tile the image along its long side, in reading order, without overlap.
            let along = w >= h ? got.map(\.x) : got.map(\.y)
            XCTAssertEqual(along, along.sorted(), "\(w)x\(h): reading order")
            if !got.isEmpty {
                applied += 1
                XCTAssertEqual(w >= h ? got.map(\.width).reduce(0, +) : got.map(\.height).reduce(0, +), max(w, h), "\(w)x\(h): coverage")
            }
        }
        XCTAssertGreaterThanOrEqual(applied, 4, "the table must exercise crops, not only refusals")
    }

    func testWideImageMatchesTransformers() throws {
        let e = try expected()
        XCTAssertEqual(e["num_crops"] as? Int, 3)
        ImageProcessorFactory.panAndScanRequested = true
        defer { ImageProcessorFactory.panAndScanRequested = false }
        let pipeline = try VLMPipeline(directory: try FamilyFixtures.directory("gemma3"))
        let media: [MediaInput] = [.image(try ImageLoader.load(path: Self.fixture + "/" + (e["image"] as! String)))]
        let options = PipelineOptions()
        let prepared = try pipeline.prepare(.conversation(FixtureChecks.messages(e["messages"] as! [[String: Any]])),
                                            media: media, options: options)
        XCTAssertEqual(prepared.ids, (e["input_ids"] as! [NSNumber]).map(\.int32Value), "prompt ids")
        let groups = (e["image_groups"] as! [[String: Int]]).map { $0["start"]!..<$0["end"]! }
        XCTAssertEqual(groups.count, 4)
        XCTAssertEqual(prepared.bidirectional, groups, "each encoder image's run attends both ways, apart from the others")

        let decoded = try pipeline.decode(media[0], options: options)
        guard case .image(let image) = decoded.content else { return XCTFail("not an image") }
        guard case .panAndScan(let crops) = image.layout, crops == 3 else { return XCTFail("layout \(image.layout)") }
        let pixels = e["pixel_values"] as! [String: Any]
        XCTAssertEqual(image.pixels.data.count, (pixels["shape"] as! [Int]).reduce(1, *), "pixel_values size")
        XCTAssertLessThan(Gemma3VLParityTests.strideSampleError(image.pixels.data, pixels["sample"] as! [String: Any]), 0.02,
                          "pixel values (PIL bilinear of each crop, within one level of 255)")

        let embedded = try pipeline.encode(decoded, reduction: nil)
        XCTAssertEqual(embedded.tileCounts, [256, 256, 256, 256])
        let perImage = (e["image_features"] as! [String: Any])["per_image"] as! [[String: [NSNumber]]]
        let width = embedded.rows.count / embedded.count
        var err: Float = 0
        for (k, rows) in perImage.enumerated() {
            for (row, key) in [(0, "row_0_first64"), (255, "row_255_first64")] {
                let start = (k * 256 + row) * width
                let want = rows[key]!.map(\.floatValue)
                err = max(err, zip(embedded.rows[start..<(start + want.count)], want).map { abs($0 - $1) }.max() ?? .infinity)
            }
        }
        XCTAssertLessThan(err, 2e-3, "projector rows of the whole image and the crops")

        let (_, logitError, steps) = try Gemma3VLParityTests.checkLogitsAndGreedy(
            prepared, decoder: pipeline.model.language.decoder, record: e, name: "gemma3 pan-and-scan", minSteps: 4)
        print("gemma3 pan-and-scan: projector max err \(err), logits max err \(logitError), \(prepared.ids.count) prompt tokens, \(steps) greedy steps")
    }
}
