import Foundation
import XCTest
import VLMRuntime
import TestSupport
@testable import Vision

/// vlm's default model (DINOv2 ViT-S/14 + the trained projector + SmolLM2-135M Q4_1 with the trained
/// LoRA adapter beside its weights, installed by
/// scripts/setup.sh as `shapes-vlm`) against transformers running the same weights
/// (tools/check_default_vlm.py): the last position's logits on a sample image and question,
/// the top 50 within 0.05 and the same argmax. This covers the whole composed path: the
/// processor at 126 px, DINOv2's position interpolation, the post-norm features without the
/// class token, the patch extras, the projector, the `<jupyter_output>` placeholder splicing, the
/// GGUF LLM and the adapter (its q/k rows in llama.cpp's order), so the runtime and the trained
/// weights cannot drift apart.
final class DefaultModelParityTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Reference: Decodable {
        let image: String; let question: String; let ids: [Int32]; let top_ids: [Int]; let top_logits: [Float]
    }

    func modelDirectory() throws -> String {
        _ = try installedModel("shapes-vlm/model.safetensors")
        return ModelLocator.modelsDirectory + "/shapes-vlm"
    }

    func testLogitsMatchTransformers() throws {
        let dir = try modelDirectory()
        for file in ["model.safetensors", "adapter.gguf", "config.json"] {
            let committed = Self.here.appendingPathComponent("../../weights/shapes-vlm/" + file).standardized.path
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/" + file), FileManager.default.contents(atPath: committed),
                           "the installed \(file) is not the committed one; run scripts/setup.sh")
        }
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.here.appendingPathComponent("Fixtures/default_vlm_logits.json")))
        let model = try VisionLanguageModel(directory: dir)
        let image = try ImageLoader.load(path: Self.here.appendingPathComponent("../../" + ref.image).standardized.path)
        let embedding = try model.embed(try model.processor.process(image))
        let (ids, embeddings) = try model.promptInputs(text: ref.question, images: [embedding])
        XCTAssertEqual(ids, ref.ids, "prompt tokens")
        let decoder = model.language.decoder
        XCTAssertEqual(decoder.adapters.map(\.name), ["adapter.gguf"], "config.json's text_adapter is applied")
        var x = embeddings
        let logits = try decoder.forward(embeddings: &x, rows: ids.count, cache: decoder.makeCache(.f32))
        var worst: Float = 0
        for (id, value) in zip(ref.top_ids, ref.top_logits) { worst = max(worst, abs(logits[id] - value)) }
        XCTAssertLessThan(worst, 0.05, "top-50 logits")
        XCTAssertEqual(logits.indices.max { logits[$0] < logits[$1] }, ref.top_ids[0], "argmax")
    }
}
