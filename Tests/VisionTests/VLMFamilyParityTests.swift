import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// Each supported VLM family against transformers 5.23 on a random-initialised tiny model
/// (tools/make_tiny_vlms.py): projected image features, the expanded prompt's token ids, the
/// last-position logits with the image in the prompt, and 16 greedy tokens.
final class VLMFamilyParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vlms").path
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Samples").standardized.path

    struct Expected: Decodable {
        let question: String
        let input_ids: [Int32]
        let pixel_values_shape: [Int]
        let original_size: [Int]
        let layout: Layout?
        let image_features_shape: [Int]
        let image_features_sample: [Float]
        let image_features_sum: Float
        let last_logits: [Float]
        let greedy_ids: [Int32]
        /// Top-1 minus top-2 logit at each greedy step, where recorded.
        let greedy_margins: [Float]?
        struct Layout: Decodable { let kind: String; let rows: Int; let cols: Int; let grid_height: Int?; let grid_width: Int? }
    }

    func load(_ name: String) throws -> (VisionLanguageModel, Expected, ProcessedImage) {
        let dir = Self.fixtures + "/" + name
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
        let model = try VisionLanguageModel(directory: dir)
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir + "/pixel_values.bin"))
        let floats = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let s = expected.pixel_values_shape
        let layout: TileLayout
        switch expected.layout?.kind {
        case "anyres": layout = .anyRes(rows: expected.layout!.rows, cols: expected.layout!.cols,
                                        gridHeight: expected.layout!.grid_height!, gridWidth: expected.layout!.grid_width!)
        case "split": layout = .split(rows: expected.layout!.rows, cols: expected.layout!.cols)
        default: layout = .single
        }
        let image = ProcessedImage(pixels: PixelBatch(data: floats, count: s[0], height: s[2], width: s[3]),
                                   originalWidth: expected.original_size[1], originalHeight: expected.original_size[0], layout: layout)
        return (model, expected, image)
    }

    /// Max |a - b| over the strided sample transformers recorded (step = count / 512).
    func sampleError(_ features: [Float], _ expected: Expected) -> Float {
        let step = max(1, features.count / 512)
        var err: Float = 0
        for (i, e) in expected.image_features_sample.enumerated() { err = max(err, abs(features[i * step] - e)) }
        return err
    }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let (model, expected, image) = try load(name)
        let embedding = try model.embed(image)
        XCTAssertEqual(embedding.count, expected.image_features_shape[0], "\(name): visual token count", file: file, line: line)
        XCTAssertEqual(embedding.rows.count, expected.image_features_shape[0] * expected.image_features_shape[1], file: file, line: line)
        let featureError = sampleError(embedding.rows, expected)
        XCTAssertLessThan(featureError, 1e-3, "\(name): projected image features", file: file, line: line)
        XCTAssertEqual(embedding.rows.reduce(0, +), expected.image_features_sum, accuracy: 2e-2 * max(1, abs(expected.image_features_sum) / 100),
                       file: file, line: line)

        let (ids, embeddings) = try model.promptInputs(text: expected.question, images: [embedding])
        XCTAssertEqual(ids, expected.input_ids, "\(name): expanded prompt ids", file: file, line: line)

        let decoder = model.language.decoder
        let cache = decoder.makeCache(.f32)
        var x = embeddings
        var logits = try decoder.forward(embeddings: &x, rows: ids.count, cache: cache, logits: .last)
        var logitError: Float = 0
        for (a, b) in zip(logits, expected.last_logits) { logitError = max(logitError, abs(a - b)) }
        XCTAssertLessThan(logitError, 2e-3, "\(name): last-position logits", file: file, line: line)

        // Greedy tokens up to the first step whose top-two margin transformers recorded as below
        // the logit tolerance (a tie there is decided by rounding, not by the model).
        let steps = expected.greedy_margins?.firstIndex { $0 < 2e-3 } ?? expected.greedy_ids.count
        var generated: [Int32] = []
        for _ in 0..<steps {
            let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            generated.append(next)
            logits = try decoder.forward(tokens: [next], cache: cache, logits: .last)
        }
        XCTAssertGreaterThanOrEqual(steps, 6, "\(name): too few comparable greedy steps", file: file, line: line)
        XCTAssertEqual(generated, Array(expected.greedy_ids.prefix(steps)), "\(name): greedy tokens", file: file, line: line)
        print("\(name): features max err \(featureError), logits max err \(logitError), \(ids.count) prompt tokens, \(embedding.count) visual")
    }

    /// Every model_type a registered family reads (llava, llava_next, llava_onevision,
    /// idefics3, smolvlm today) against its transformers fixture; a new family fails here until
    /// its fixture exists.
    func testEveryRegisteredFamily() throws {
        XCTAssertFalse(VLMConfig.supportedModelTypes.isEmpty)
        // Families whose fixtures generate their weights (real widths) have their own cases (QwenVLParityTests).
        for name in VLMConfig.supportedModelTypes where !FamilyFixtures.isGenerated(name) { try check(name) }
        XCTAssertEqual(VLMConfig.supportedModelTypes.filter(FamilyFixtures.isGenerated).sorted(), (QwenVLParityTests.families + Gemma3VLParityTests.families).sorted())
    }

    /// The checkpoint's own chat template decides the prompt (issue 17): a LLaVA-OneVision model
    /// whose template adds Qwen's default system message ("You are a helpful assistant.") gives
    /// transformers' `apply_chat_template` ids, logits and greedy tokens
    /// (tools/make_template_vlm.py; the weights are llava_onevision's).
    func testTemplateWithDefaultSystemPrompt() throws {
        try check("llava_onevision_system")
        let (model, _, _) = try load("llava_onevision_system")
        XCTAssertFalse(model.chatTemplate.isFallback)
        XCTAssertTrue(model.chatTemplate.origin.hasSuffix("chat_template.jinja"))
    }

    /// LLaVA-OneVision on 8 video frames (tools/make_tiny_onevision_video.py): per-frame
    /// tokens pooled 2x2, one newline after the last frame, `<video>` expanded; logits within
    /// 2e-3 and 16 greedy tokens as transformers.
    func testLlavaOnevisionVideo() throws {
        struct VideoExpected: Decodable { let question: String; let input_ids: [Int32]; let pixels_shape: [Int]; let last_logits: [Float]; let greedy_ids: [Int32] }
        let dir = Self.fixtures + "/llava_onevision"
        let e = try JSONDecoder().decode(VideoExpected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/video_expected.json")))
        let raw = try Data(contentsOf: URL(fileURLWithPath: dir + "/video_pixels.f16"))
        let halves = raw.withUnsafeBytes { Array($0.bindMemory(to: Float16.self)) }
        let frames = PixelBatch(data: halves.map(Float.init), count: e.pixels_shape[0], height: e.pixels_shape[2], width: e.pixels_shape[3])
        let model = try VisionLanguageModel(directory: dir)
        let video = try model.embedVideo(frames)
        let (ids, embeddings) = try model.promptInputs(text: e.question, images: [video])
        XCTAssertEqual(ids, e.input_ids)
        let decoder = model.language.decoder
        let cache = decoder.makeCache(.f32)
        var x = embeddings
        var logits = try decoder.forward(embeddings: &x, rows: ids.count, cache: cache, logits: .last)
        let err = zip(logits, e.last_logits).map { abs($0 - $1) }.max() ?? 1
        XCTAssertLessThan(err, 2e-3, "video logits")
        var generated: [Int32] = []
        for _ in 0..<e.greedy_ids.count {
            let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            generated.append(next)
            logits = try decoder.forward(tokens: [next], cache: cache, logits: .last)
        }
        XCTAssertEqual(generated, e.greedy_ids)
        print("llava_onevision video: \(video.count) visual tokens, logits max err \(err)")
    }

    /// The whole chain from the image file: our processor must give the same pixels (within its
    /// tolerance), so the logits stay within the model tolerance too.
    func testFromImageFile() throws {
        for name in ["llava", "llava_next", "llava_onevision", "smolvlm"] {
            let (model, expected, _) = try load(name)
            let decoded = try ImageLoader.load(path: Self.samples + "/shapes.png")
            let embedding = try model.embed(try model.processor.process(decoded))
            let (ids, embeddings) = try model.promptInputs(text: expected.question, images: [embedding])
            XCTAssertEqual(ids, expected.input_ids, name)
            var x = embeddings
            let logits = try model.language.decoder.forward(embeddings: &x, rows: ids.count, cache: model.language.decoder.makeCache(.f32))
            var err: Float = 0
            for (a, b) in zip(logits, expected.last_logits) { err = max(err, abs(a - b)) }
            XCTAssertLessThan(err, 2e-2, "\(name): logits from the image file")
            print("\(name) from shapes.png: logits max err \(err)")
        }
    }
}
