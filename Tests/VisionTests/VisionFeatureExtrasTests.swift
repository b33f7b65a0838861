import XCTest
import VLMRuntime
@testable import Vision

/// The per-patch extras vlm's default model appends to its DINOv2 features (the end-to-end
/// check against transformers is DefaultModelParityTests; these pin the layout on small inputs).
final class VisionFeatureExtrasTests: XCTestCase {
    /// Two images of 3 x 4 x 6 pixels on a 2 x 3 grid of 2 x 2 patches; the second image is read.
    func testMeanColourAndPositionFollowEachPatch() {
        let h = 4, w = 6, rows = 2, cols = 3, width = 2
        let data = (0..<(2 * 3 * h * w)).map { Float(($0 * 37) % 101) / 10 - 5 }
        let pixels = PixelBatch(data: data, count: 2, height: h, width: w)
        let features = (0..<(rows * cols * width)).map { Float($0) }
        let out = VisionFeatureExtra.append([.patchMeanColour, .patchPosition], to: features, width: width, pixels: pixels,
                                            index: 1, gridRows: rows, gridCols: cols)
        XCTAssertEqual(out.count, rows * cols * (width + 5))
        // Expected means by visiting every pixel once and adding it to its patch's bucket.
        var sums = [Float](repeating: 0, count: rows * cols * 3)
        for ch in 0..<3 { for y in 0..<h { for x in 0..<w {
            sums[((y / 2) * cols + x / 2) * 3 + ch] += data[pixels.imageStride + ch * h * w + y * w + x]
        }}}
        let xs: [Float] = [-2.0 / 3, 0, 2.0 / 3], ys: [Float] = [-0.5, 0.5]
        for t in 0..<(rows * cols) {
            let row = Array(out[(t * (width + 5))..<((t + 1) * (width + 5))])
            XCTAssertEqual(Array(row[0..<width]), Array(features[(t * width)..<((t + 1) * width)]), "patch features come first, unchanged")
            for ch in 0..<3 { XCTAssertEqual(row[width + ch], sums[t * 3 + ch] / 4, accuracy: 1e-5) }
            XCTAssertEqual(row[width + 3], xs[t % cols], accuracy: 1e-6)
            XCTAssertEqual(row[width + 4], ys[t / cols], accuracy: 1e-6)
        }
    }

    func testNoExtrasLeavesFeaturesAlone() {
        let pixels = PixelBatch(data: [Float](repeating: 1, count: 3 * 4 * 4), count: 1, height: 4, width: 4)
        let features: [Float] = [1, 2, 3, 4]
        XCTAssertEqual(VisionFeatureExtra.append([], to: features, width: 1, pixels: pixels, index: 0, gridRows: 2, gridCols: 2), features)
    }

    func testUnknownExtraIsRejectedByName() {
        let json: [String: Any] = ["model_type": "llava", "image_token_id": 14, "text_model_file": "x.gguf",
                                   "vision_config": ["model_type": "dinov2"], "vision_feature_extras": ["patch_depth"]]
        XCTAssertThrowsError(try VLMConfig(json: json, source: "config.json")) { error in
            XCTAssertTrue("\(error)".contains("patch_depth"), "\(error)")
        }
        var good = json
        good["vision_feature_extras"] = ["patch_mean_colour", "patch_position"]
        XCTAssertEqual(try VLMConfig(json: good, source: "config.json").visionFeatureExtras, [.patchMeanColour, .patchPosition])
    }
}
