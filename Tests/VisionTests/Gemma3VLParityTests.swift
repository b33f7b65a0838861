import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// Gemma 3 vision-language against transformers 5.23 (float32, eager attention) on a
/// random-initialised model of gemma-3-4b-it's widths (SigLIP 1152 at 896 px, LLM 2560 with
/// 8 query and 4 KV heads of 256) with two layers each, one sliding and one global
/// (tools/make_gemma3_fixtures.py; weights generated, GeneratedWeights). Per case (a: one
/// image, b: two images, c: text only): the template's prompt ids with each image expanded to
/// `\n\n<start_of_image>` + 256 soft tokens + `<end_of_image>\n\n`, the processor's pixels, the
/// projector's rows, the last-position logits within the families' 2e-3 (with the image tokens
/// attending both ways: the causal-only logits differ by far more, so the mask is tested too),
/// and 16 greedy tokens (up to a step whose top-two margin is under that tolerance).
final class Gemma3VLParityTests: XCTestCase {
    static let families = ["gemma3"]

    func testGemma3() throws {
        let name = "gemma3"
        let fixture = FamilyFixtures.root + "/" + name
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as! [String: Any]
        XCTAssertEqual(expected["final_logit_softcapping_applied"] as? Bool, false)
        let pipeline = try VLMPipeline(directory: try FamilyFixtures.directory(name))
        let cases = expected["cases"] as! [String: Any]
        XCTAssertEqual(Set(cases.keys), ["a", "b", "c"])
        for key in cases.keys.sorted() {
            try checkCase(pipeline, name: "\(name) (\(key))", fixture: fixture, case: cases[key] as! [String: Any])
        }
    }

    /// The six-layer tiny model the GGUF pair test converts (tools/make_tiny_gemma3_pair.py):
    /// its transformers ids, logits and 8 greedy tokens on Samples/shapes.png.
    func testTinyGemma3() throws { try FixtureChecks.checkTiny("gemma3_tiny") }

    func checkCase(_ pipeline: VLMPipeline, name: String, fixture: String, case c: [String: Any]) throws {
        let media: [MediaInput] = try (c["images"] as! [String]).map { .image(try ImageLoader.load(path: fixture + "/" + $0)) }
        let messages = FixtureChecks.messages(c["messages"] as! [[String: Any]])
        var options = PipelineOptions()
        let prepared = try pipeline.prepare(.conversation(messages), media: media, options: options)
        XCTAssertEqual(prepared.ids, (c["input_ids"] as! [NSNumber]).map(\.int32Value), "\(name): prompt ids")
        let groups = (c["image_groups"] as! [[String: Int]]).map { $0["start"]!..<$0["end"]! }
        XCTAssertEqual(prepared.bidirectional, groups, "\(name): the image runs that attend both ways")

        if let pixels = c["pixel_values"] as? [String: Any] {
            let decoded = try media.map { try pipeline.decode($0, options: options) }
            let values: [Float] = decoded.flatMap { d -> [Float] in
                guard case .image(let image) = d.content else { XCTFail("\(name): not an image"); return [] }
                return image.pixels.data
            }
            XCTAssertEqual(values.count, (pixels["shape"] as! [Int]).reduce(1, *), "\(name): pixel_values size")
            XCTAssertLessThan(Self.strideSampleError(values, pixels["sample"] as! [String: Any]), 0.02,
                              "\(name): pixel values (PIL bilinear, within one level of 255 after normalisation)")
            let embedded = try decoded.map { try pipeline.encode($0, reduction: nil) }
            let features = c["image_features"] as! [String: Any]
            let width = (features["shape"] as! [Int])[2]
            let rows = embedded[0].rows
            XCTAssertEqual(embedded.map(\.rows.count).reduce(0, +), (features["shape"] as! [Int]).reduce(1, *), "\(name): projector output size")
            var err: Float = 0
            for (row, key) in [(0, "image0_row0"), (255, "image0_row255")] {
                let e = (features[key] as! [NSNumber]).map(\.floatValue)
                err = max(err, zip(rows[(row * width)..<((row + 1) * width)], e).map { abs($0 - $1) }.max() ?? .infinity)
            }
            XCTAssertLessThan(err, 2e-3, "\(name): projector rows")
            print("\(name): projector max err \(err)")
        }

        let (logits, logitError, steps) = try Self.checkLogitsAndGreedy(prepared, decoder: pipeline.model.language.decoder, record: c,
                                                                        name: name, minSteps: 6)
        if let causal = c["last_logits_causal_only"] as? [NSNumber] {
            // The fixture separates the two masks: ours must be the bidirectional one.
            let gap = zip(logits, causal.map(\.floatValue)).map { abs($0 - $1) }.max() ?? 0
            XCTAssertGreaterThan(gap, 50 * 2e-3, "\(name): the causal-only logits are as close as the real ones")
        }
        let greedy = (c["greedy_ids"] as! [NSNumber]).map(\.int32Value)
        // The pipeline's own loop decodes the same tokens (it stops at <eos>, which case b reaches).
        options.maxTokens = steps
        let (result, _) = try pipeline.generate(prepared, options: options)
        XCTAssertEqual(Array(result.tokens.prefix(steps)), Array(greedy.prefix(min(steps, result.tokens.count))), "\(name): pipeline greedy tokens")
        print("\(name): logits max err \(logitError), \(prepared.ids.count) prompt tokens, \(prepared.visualAfter) visual, \(steps) greedy steps")
    }

    /// The prompt's last-position logits against the record's `last_logits` (within 2e-3), then
    /// greedy tokens against `greedy_ids` up to the first step whose recorded top-two margin is
    /// under that tolerance (at least `minSteps` of them). Returns the prompt's logits.
    static func checkLogitsAndGreedy(_ prepared: PreparedPrompt, decoder: DecoderModel, record c: [String: Any], name: String,
                                     minSteps: Int) throws -> (logits: [Float], error: Float, steps: Int) {
        let cache = decoder.makeCache(.f32)
        var x = prepared.embeddings
        let first = try decoder.forward(embeddings: &x, rows: prepared.ids.count, cache: cache, logits: .last,
                                        positions: prepared.positions, injection: prepared.injection,
                                        bidirectional: prepared.bidirectional)
        let expectedLogits = (c["last_logits"] as! [NSNumber]).map(\.floatValue)
        XCTAssertEqual(first.count, expectedLogits.count, name)
        let logitError = zip(first, expectedLogits).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(logitError, 2e-3, "\(name): last-position logits")

        let greedy = (c["greedy_ids"] as! [NSNumber]).map(\.int32Value)
        let margins = (c["greedy_margins"] as! [NSNumber]).map(\.floatValue)
        let steps = margins.firstIndex { $0 < 2e-3 } ?? greedy.count
        XCTAssertGreaterThanOrEqual(steps, minSteps, "\(name): too few comparable greedy steps")
        var logits = first, generated: [Int32] = []
        for _ in 0..<steps {
            let token = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            generated.append(token)
            logits = try decoder.forward(tokens: [token], cache: cache, logits: .last)
        }
        XCTAssertEqual(generated, Array(greedy.prefix(steps)), "\(name): greedy tokens")
        return (first, logitError, steps)
    }

    /// The fixture samples the flat pixel_values at start + k·stride.
    static func strideSampleError(_ values: [Float], _ sample: [String: Any]) -> Float {
        let start = (sample["start"] as! NSNumber).intValue, stride = (sample["stride"] as! NSNumber).intValue
        let expected = (sample["values"] as! [NSNumber]).map(\.floatValue)
        return expected.enumerated().map { k, e in
            let i = start + k * stride
            return i < values.count ? abs(values[i] - e) : .infinity
        }.max() ?? .infinity
    }
}
