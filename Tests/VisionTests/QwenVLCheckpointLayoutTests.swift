import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// Qwen-VL checkpoints as the different transformers versions save them give the same model:
/// the parity fixture's weights written in the other key layout (Qwen2.5-VL: the hub layout
/// transformers 4.x before 4.52 and 5.23 write, `model.layers.*` / `visual.*`, against
/// `model.language_model.*` / `model.visual.*` of 4.52+; Qwen3-VL the other way round) and with
/// an explicit `lm_head.weight` beside the tied embedding: case (a)'s last-position logits
/// still match transformers 5.23 within 2e-3.
final class QwenVLCheckpointLayoutTests: XCTestCase {
    /// Qwen2.5-VL's hub names -> transformers 4.52+'s nested names.
    static func nested(_ name: String) -> String {
        if name.hasPrefix("visual.") { return "model." + name }
        if name.hasPrefix("model."), !name.hasPrefix("model.language_model."), !name.hasPrefix("model.visual.") {
            return "model.language_model." + name.dropFirst("model.".count)
        }
        return name
    }

    /// Qwen3-VL's nested names -> the flat hub layout.
    static func flat(_ name: String) -> String {
        if name.hasPrefix("model.visual.") { return String(name.dropFirst("model.".count)) }
        if name.hasPrefix("model.language_model.") { return "model." + name.dropFirst("model.language_model.".count) }
        return name
    }

    func testOtherLayoutsAndAnUntiedHead() throws {
        for (family, rename, embedding) in [("qwen2_5_vl", Self.nested, "model.embed_tokens.weight"),
                                            ("qwen3_vl", Self.flat, "model.language_model.embed_tokens.weight")] {
            let fixture = FamilyFixtures.root + "/" + family
            let dir = try GeneratedWeights.materialize(fixture: fixture) { name in
                name == embedding ? [rename(name), "lm_head.weight"] : [rename(name)]
            }
            defer { GeneratedWeights.remove(dir) }
            let names = try TensorCheckpoint(directory: dir).tensorNames
            XCTAssertTrue(names.contains("lm_head.weight"), family)
            XCTAssertFalse(names.contains(embedding), "\(family): the layout was not changed")

            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as! [String: Any]
            let a = (expected["cases"] as! [String: Any])["a"] as! [String: Any]
            let pipeline = try VLMPipeline(directory: dir)
            let image = try ImageLoader.load(path: fixture + "/image_a.png")
            let prepared = try pipeline.prepare(.conversation([ChatMessage(role: "user", parts: [.image, .text(a["question"] as! String)])]),
                                                media: [.image(image)], options: PipelineOptions())
            XCTAssertEqual(prepared.ids, (a["input_ids"] as! [NSNumber]).map(\.int32Value), family)
            let decoder = pipeline.model.language.decoder
            var x = prepared.embeddings
            let logits = try decoder.forward(embeddings: &x, rows: prepared.ids.count, cache: decoder.makeCache(.f32), logits: .last,
                                             positions: prepared.positions, injection: prepared.injection)
            let reference = (a["last_logits"] as! [NSNumber]).map(\.floatValue)
            XCTAssertEqual(logits.count, reference.count, family)
            XCTAssertLessThan(zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity, 2e-3, "\(family): logits in the other layout")
        }
    }
}
