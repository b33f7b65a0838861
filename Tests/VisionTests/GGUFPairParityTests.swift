import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// llama.cpp pairs against the Hugging Face directories they were converted from (issue 19,
/// check 2): tools/make_gguf_pairs.py ran llama.cpp's own converters (convert_hf_to_gguf.py for
/// the LLM and for Idefics3/SmolVLM's mmproj, the legacy convert_image_encoder_to_gguf.py for
/// LLaVA's, which convert_hf_to_gguf.py does not convert) on the tiny fixtures of
/// Fixtures/vlms. vlm on the pair must give the directory's prompt ids, visual tokens, logits
/// and greedy tokens: the LLM is f32 in both; the mmproj at f32 (the legacy converter still
/// writes the 2-D projector and patch weights as f16) and at f16, so the visual tokens and
/// logits agree within the f16 rounding of those weights, measured and bounded here.
final class GGUFPairParityTests: XCTestCase {
    static let pairs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gguf_pairs").path
    /// gemma3_tiny: six layers (5 sliding, 1 global), the only pattern llama.cpp's Gemma 3
    /// GGUF can say (it has no layer_types).
    static let families = ["llava", "llava_next", "idefics3", "smolvlm", "gemma3_tiny", "qwen2_5_vl_tiny", "qwen3_vl_tiny"]

    func testEveryPairMatchesItsDirectory() throws {
        for family in Self.families {
            let hf = try VLMPipeline(directory: try FamilyFixtures.directory(family))
            XCTAssertTrue(hf.model.language.decoder.config.family == .gemma3 || family != "gemma3_tiny")
            for precision in ["f32", "f16"] {
                let dir = Self.pairs + "/" + family
                let pair = VLMPipeline(model: try VisionLanguageModel(model: dir + "/model-f32.gguf", mmproj: dir + "/mmproj-\(precision).gguf"))
                // A file whose tensors are all f32 (llama.cpp's Idefics3 converter at f32) must
                // match to float32 rounding; one with f16 weights, to their rounding.
                let exact = try GGUFFile(path: dir + "/mmproj-\(precision).gguf").tensors.allSatisfy { $0.type == .f32 }
                // f16: 2% of the scale (the tiny Qwen's 4 blocks of doubled weights carry its
                // rounding to 1.3%; the greedy tokens must still agree).
                try compare(pair, hf, name: "\(family) mmproj-\(precision)", tolerance: exact ? 1e-4 : 2e-2)
            }
        }
    }

    /// A Gemma 3 GGUF that states its layer pattern (gemma3.attention.sliding_window_pattern,
    /// which llama.cpp reads) is read with it: the tiny pair with its second layer made global
    /// matches the directory whose layer_types say the same, and the stock file (5 : 1) does not.
    func testGemma3LayerPatternFromTheGGUF() throws {
        let pairDir = Self.pairs + "/gemma3_tiny", hfDir = FamilyFixtures.root + "/gemma3_tiny"
        let types = ["sliding_attention", "full_attention", "sliding_attention", "sliding_attention", "sliding_attention", "full_attention"]
        var w = GGUFWriter(copying: try GGUFFile(path: pairDir + "/model-f32.gguf"))
        w.set("gemma3.attention.sliding_window_pattern", .array(elementType: 7, types.map { .bool($0 == "sliding_attention") }))
        let model = TempFile(w.bytes(), name: "gemma3-pattern")
        let hf = FileManager.default.temporaryDirectory.appendingPathComponent("gemma3-pattern-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: hf, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: hf) }
        for name in try FileManager.default.contentsOfDirectory(atPath: hfDir) where name != "config.json" {
            try FileManager.default.createSymbolicLink(atPath: hf + "/" + name, withDestinationPath: hfDir + "/" + name)
        }
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: hfDir + "/config.json"))) as! [String: Any]
        var text = config["text_config"] as! [String: Any]
        text["layer_types"] = types
        config["text_config"] = text
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: hf + "/config.json"))
        let directory = try VLMPipeline(directory: hf)
        let stated = VLMPipeline(model: try VisionLanguageModel(model: model.path, mmproj: pairDir + "/mmproj-f32.gguf"))
        XCTAssertEqual(stated.model.language.decoder.config.globalLayers, types.map { $0 == "full_attention" })
        try compare(stated, directory, name: "gemma3_tiny with a stated layer pattern", tolerance: 2e-2)
        let stock = VLMPipeline(model: try VisionLanguageModel(model: pairDir + "/model-f32.gguf", mmproj: pairDir + "/mmproj-f32.gguf"))
        XCTAssertNotEqual(stock.model.language.decoder.config.globalLayers, types.map { $0 == "full_attention" })
    }

    func compare(_ pair: VLMPipeline, _ hf: VLMPipeline, name: String, tolerance: Float) throws {
        let image = try ImageLoader.load(path: ReducerEndToEndTests.image)
        var options = PipelineOptions()
        let a = try pair.prepare(.text("What is in the picture?"), media: [.image(image)], options: options)
        let b = try hf.prepare(.text("What is in the picture?"), media: [.image(image)], options: options)
        XCTAssertEqual(a.ids, b.ids, "\(name): prompt ids")
        XCTAssertEqual(a.visualAfter, b.visualAfter, "\(name): visual tokens")
        guard a.ids == b.ids else { return }
        let embeddingError = zip(a.embeddings, b.embeddings).map { abs($0 - $1) }.max() ?? .infinity
        let scale = b.embeddings.map(abs).max() ?? 1
        // 0.6 of the logits' bound: at f16 the visual rows are off by 1.0% of their scale on the
        // tiny Qwen2.5-VL and 1.16% on the tiny Qwen3-VL (measured on the committed pairs).
        XCTAssertLessThan(embeddingError, tolerance * 0.6 * max(1, scale), "\(name): input embeddings (visual rows)")

        func lastLogits(_ p: VLMPipeline, _ prepared: PreparedPrompt) throws -> [Float] {
            let decoder = p.model.language.decoder
            var x = prepared.embeddings
            return try decoder.forward(embeddings: &x, rows: prepared.ids.count, cache: decoder.makeCache(.f32), logits: .last,
                                       positions: prepared.positions, injection: prepared.injection, bidirectional: prepared.bidirectional)
        }
        let la = try lastLogits(pair, a), lb = try lastLogits(hf, b)
        let logitError = zip(la, lb).map { abs($0 - $1) }.max() ?? .infinity
        // Relative to the logits' scale: f16 weights move large logits (the tiny Gemma's) by as much in proportion as small ones.
        let logitScale = max(1, lb.map(abs).max() ?? 1)
        XCTAssertLessThan(logitError, tolerance * logitScale, "\(name): last-position logits (scale \(logitScale))")

        // Greedy tokens: the same, for as long as the directory's top-two margin exceeds what
        // the f16 rounding can move.
        options.maxTokens = 12
        let (ra, _) = try pair.generate(a, options: options), (rb, _) = try hf.generate(b, options: options)
        XCTAssertEqual(ra.tokens, rb.tokens, "\(name): greedy tokens")
        // A reducer runs on the pair as on the directory: the same tokens kept, the same answer.
        var reduced = options
        reduced.reducer = "divprune"; reduced.keepRatio = 0.25
        let ra25 = try pair.prepare(.text("What is in the picture?"), media: [.image(image)], options: reduced)
        let rb25 = try hf.prepare(.text("What is in the picture?"), media: [.image(image)], options: reduced)
        XCTAssertLessThan(ra25.visualAfter, a.visualAfter, "\(name): divprune kept every token")
        XCTAssertEqual(ra25.ids, rb25.ids, "\(name): prompt ids with divprune at 25%")
        print("\(name): \(a.ids.count) prompt tokens (\(a.visualAfter) visual), embeddings max err \(embeddingError), logits max err \(logitError) at scale \(logitScale)")
    }
}
