import Foundation
import XCTest
import VLMRuntime
@testable import Vision

/// CLIP, SigLIP and DINOv2 against transformers 5.23 on tiny random models
/// (tools/make_tiny_vits.py): every hidden state, the post-layernormed output, and each tap
/// kind the reducers use (head-averaged probabilities, logits, keys; full matrix and CLS row).
/// DINOv2 runs at 42 x 70 pixels, so its positions are interpolated from a 4 x 4 grid to 3 x 5.
final class EncoderParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/encoders").path

    struct Expected: Decodable {
        let pixels_shape: [Int]
        let pixels: [Float]
        let hidden_states: [[Float]]
        let final: [Float]
        let tap_layer: Int
        let probabilities: [Float]
        let logits: [Float]
        let keys: [Float]
        let tokens: Int
    }

    func maxError(_ a: [Float], _ b: [Float]) -> Float {
        XCTAssertEqual(a.count, b.count)
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    func check(_ name: String) throws {
        let dir = Self.fixtures + "/" + name
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        let encoder = try ViTEncoder(checkpoint: try TensorCheckpoint(directory: dir), visionConfig: config, prefix: "")
        let pixels = PixelBatch(data: e.pixels, count: 1, height: e.pixels_shape[2], width: e.pixels_shape[3])
        var worst: Float = 0
        for (layer, reference) in e.hidden_states.enumerated() {
            let out = try encoder.encode(pixels, index: 0, request: EncoderRequest(featureLayer: layer))
            let err = maxError(out.features, reference)
            XCTAssertLessThan(err, 1e-3, "\(name) hidden_states[\(layer)]")
            worst = max(worst, err)
        }
        let taps = [EncoderTap(layer: e.tap_layer, kind: .attentionProbabilities), EncoderTap(layer: e.tap_layer, kind: .attentionLogits),
                    EncoderTap(layer: e.tap_layer, kind: .keys), EncoderTap(layer: e.tap_layer, kind: .hidden),
                    EncoderTap(layer: e.tap_layer - 3, kind: .attentionProbabilities, clsRowOnly: true),   // -2 of 3 layers = layer 1
                    EncoderTap(layer: e.tap_layer, kind: .attentionLogits, clsRowOnly: true)]
        // The final output, with taps requested: taps must not change the features.
        let out = try encoder.encode(pixels, index: 0, request: EncoderRequest(featureLayer: -1, applyPostLayerNorm: true, taps: taps))
        XCTAssertLessThan(maxError(out.features, e.final), 1e-3, "\(name) final")
        XCTAssertEqual(out.tokenCount, e.tokens)
        let t = e.tokens
        XCTAssertLessThan(maxError(out.taps[taps[0]] ?? [], e.probabilities), 1e-4, "\(name) probabilities")
        XCTAssertLessThan(maxError(out.taps[taps[1]] ?? [], e.logits), 1e-3, "\(name) logits")
        XCTAssertLessThan(maxError(out.taps[taps[2]] ?? [], e.keys), 1e-3, "\(name) keys")
        XCTAssertLessThan(maxError(out.taps[taps[3]] ?? [], e.hidden_states[e.tap_layer + 1]), 1e-3, "\(name) hidden tap")
        let resolvedCLS = EncoderTap(layer: e.tap_layer, kind: .attentionProbabilities, clsRowOnly: true)
        XCTAssertLessThan(maxError(out.taps[resolvedCLS] ?? [], Array(e.probabilities[0..<t])), 1e-4, "\(name) CLS row, negative layer")
        XCTAssertLessThan(maxError(out.taps[taps[5]] ?? [], Array(e.logits[0..<t])), 1e-3, "\(name) CLS logits row")
        print("\(name): hidden states max err \(worst), final \(maxError(out.features, e.final))")
    }

    /// `--vision-bf16` (linear layers in bfloat16 on AVX-512-BF16) against transformers' float32
    /// on the same fixtures: the stated cost of bf16. Measured here: cosine >= 0.9999 and max
    /// error <= 1.5% of the largest output value; bounds 0.999 and 4%.
    func testBF16LinearLayersStayCloseToFloat32() throws {
        guard BF16Weights.available else {
            throw XCTSkip("bf16 GEMM: not run, CPU path \(CPUPath.current.name) has no AVX-512-BF16")
        }
        let saved = BF16Weights.requested
        BF16Weights.requested = true
        defer { BF16Weights.requested = saved }
        for name in ["clip", "siglip", "dinov2"] {
            let dir = Self.fixtures + "/" + name
            let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
            let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
            let encoder = try ViTEncoder(checkpoint: try TensorCheckpoint(directory: dir), visionConfig: config, prefix: "")
            let pixels = PixelBatch(data: e.pixels, count: 1, height: e.pixels_shape[2], width: e.pixels_shape[3])
            let out = try encoder.encode(pixels, index: 0, request: EncoderRequest(featureLayer: -1, applyPostLayerNorm: true)).features
            let dot = zip(out, e.final).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let norms = sqrt(out.reduce(0.0) { $0 + Double($1 * $1) } * e.final.reduce(0.0) { $0 + Double($1 * $1) })
            let scale = e.final.map(abs).max()!
            let relative = maxError(out, e.final) / scale
            XCTAssertGreaterThan(dot / norms, 0.999, "\(name) cosine")
            XCTAssertLessThan(relative, 0.04, "\(name) max error / max |y|")
            print("\(name) bf16: cosine \(dot / norms), max error \(relative) of the largest value")
        }
    }

    func testCLIP() throws { try check("clip") }
    func testSigLIP() throws { try check("siglip") }
    func testDINOv2InterpolatedPositions() throws { try check("dinov2") }

    func testWrongImageSizeIsRefused() throws {
        let dir = Self.fixtures + "/clip"
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        let encoder = try ViTEncoder(checkpoint: try TensorCheckpoint(directory: dir), visionConfig: config, prefix: "")
        let pixels = PixelBatch(data: [Float](repeating: 0, count: 3 * 28 * 28), count: 1, height: 28, width: 28)
        XCTAssertThrowsError(try encoder.encode(pixels, index: 0, request: EncoderRequest()))
    }
}
