import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// Qwen2.5-VL and Qwen3-VL against transformers 5.23 (float32) on random-initialised models of
/// the real checkpoints' widths, head counts and GQA ratios (Qwen2.5-VL-3B, Qwen3-VL-2B) with a
/// few layers (tools/make_qwen_vl_fixtures.py; weights generated, GeneratedWeights). Per case
/// (a: one non-square image whose merged grid pads its windows, b: two images, c: a 4-frame
/// video, d: text only): the prompt ids from the model's own template, the processor's pixels,
/// the merger's output, the 3-D positions, the last-position logits within the families'
/// 2e-3, and 16 greedy tokens (up to a step whose top-two margin is under that tolerance).
final class QwenVLParityTests: XCTestCase {
    static let families = ["qwen2_5_vl", "qwen3_vl"]

    func testQwen2_5_VL() throws { try checkFamily("qwen2_5_vl") }
    func testQwen3_VL() throws { try checkFamily("qwen3_vl") }

    /// The tiny Qwen2.5-VL the GGUF pair test converts (tools/make_tiny_qwen25vl_pair.py): its
    /// transformers ids, logits and 8 greedy tokens on Samples/shapes.png.
    func testTinyQwen2_5_VL() throws { try FixtureChecks.checkTiny("qwen2_5_vl_tiny") }
    /// The tiny Qwen3-VL of its pair (tools/make_tiny_qwen3vl_pair.py; DeepStack from blocks 0 and 2).
    func testTinyQwen3_VL() throws { try FixtureChecks.checkTiny("qwen3_vl_tiny") }

    func checkFamily(_ name: String) throws {
        let fixture = FamilyFixtures.root + "/" + name
        let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as! [String: Any]
        let pipeline = try VLMPipeline(directory: try FamilyFixtures.directory(name))
        let cases = expected["cases"] as! [String: Any]
        XCTAssertEqual(Set(cases.keys), ["a", "b", "c", "d"], name)
        for key in cases.keys.sorted() {
            try checkCase(pipeline, name: "\(name) (\(key))", fixture: fixture, case: cases[key] as! [String: Any])
        }
    }

    func checkCase(_ pipeline: VLMPipeline, name: String, fixture: String, case c: [String: Any]) throws {
        let model = pipeline.model
        var media: [MediaInput] = try (c["images"] as? [String] ?? []).map { .image(try ImageLoader.load(path: fixture + "/" + $0)) }
        if let frames = (c["video"] as? [String: Any])?["frames"] as? [String], !frames.isEmpty {
            media.append(.frames(try frames.map { try ImageLoader.load(path: fixture + "/" + $0) }))
        }
        let messages = FixtureChecks.messages(c["messages"] as! [[String: Any]])
        var options = PipelineOptions()
        options.fps = ((c["video"] as? [String: Any])?["fps"] as? NSNumber)?.doubleValue   // the given frames' rate
        let prepared = try pipeline.prepare(.conversation(messages), media: media, options: options)
        XCTAssertEqual(prepared.ids, (c["input_ids"] as! [NSNumber]).map(\.int32Value), "\(name): prompt ids")

        if let pixels = (c["pixel_values"] ?? c["pixel_values_videos"]) as? [String: Any] {
            let decoded = try media.map { try pipeline.decode($0, options: PipelineOptions()) }
            let rows = decoded.flatMap { Self.patchRows($0, tower: (model.encoder as! QwenVisionTower).config) }
            XCTAssertEqual(rows.count, (pixels["shape"] as! [Int]).reduce(1, *), "\(name): pixel_values size")
            let err = Self.sampleError(rows, pixels)
            XCTAssertLessThan(err, 0.02, "\(name): pixel values (PIL bicubic, within one level of 255 after normalisation)")
        }
        if let vision = c["vision"] as? [String: Any], let merger = vision["merger"] as? [String: Any] {
            let embedded = try media.map { try pipeline.encode(try pipeline.decode($0, options: options), reduction: nil) }
            let rows = embedded.flatMap(\.rows)
            XCTAssertEqual(rows.count, (merger["shape"] as! [Int]).reduce(1, *), "\(name): merger output size")
            let err = Self.sampleError(rows, merger)
            XCTAssertLessThan(err, 2e-3 * max(1, Self.maxAbs(merger)), "\(name): merger output")
            print("\(name): merger max err \(err)")
        }
        if let expectedPositions = c["position_ids"] as? [[NSNumber]] {
            let p = try XCTUnwrap(prepared.positions, "\(name): no multimodal positions")
            XCTAssertEqual(p.temporal, expectedPositions[0].map(\.int32Value), "\(name): temporal positions")
            XCTAssertEqual(p.height, expectedPositions[1].map(\.int32Value), "\(name): height positions")
            XCTAssertEqual(p.width, expectedPositions[2].map(\.int32Value), "\(name): width positions")
            XCTAssertEqual(p.delta, (c["rope_deltas"] as! NSNumber).intValue, "\(name): rope_deltas")
        }

        let decoder = model.language.decoder
        let cache = decoder.makeCache(.f32)
        var x = prepared.embeddings
        var logits = try decoder.forward(embeddings: &x, rows: prepared.ids.count, cache: cache, logits: .last,
                                         positions: prepared.positions, injection: prepared.injection)
        let expectedLogits = (c["last_logits"] as! [NSNumber]).map(\.floatValue)
        let logitError = zip(logits, expectedLogits).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertEqual(logits.count, expectedLogits.count, name)
        XCTAssertLessThan(logitError, 2e-3, "\(name): last-position logits")

        let greedy = (c["greedy_ids"] as! [NSNumber]).map(\.int32Value)
        let margins = (c["greedy_margins"] as! [NSNumber]).map(\.floatValue)
        let steps = margins.firstIndex { $0 < 2e-3 } ?? greedy.count
        var generated: [Int32] = []
        var next = prepared.positions?.next
        for _ in 0..<steps {
            let token = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            generated.append(token)
            var e = [Float](repeating: 0, count: decoder.config.hiddenSize)
            try e.withUnsafeMutableBufferPointer { try decoder.embed([token], into: $0.baseAddress!) }
            logits = try decoder.forward(embeddings: &e, rows: 1, cache: cache, logits: .last,
                                         positions: next.map { TokenPositions.sequential(start: $0, count: 1) })
            next = next.map { $0 + 1 }
        }
        XCTAssertGreaterThanOrEqual(steps, 6, "\(name): too few comparable greedy steps")
        XCTAssertEqual(generated, Array(greedy.prefix(steps)), "\(name): greedy tokens")
        // The pipeline's own generation loop decodes the same tokens.
        options.maxTokens = steps
        let (result, _) = try pipeline.generate(prepared, options: options)
        XCTAssertEqual(Array(result.tokens.prefix(steps)), Array(greedy.prefix(min(steps, result.tokens.count))), "\(name): pipeline greedy tokens")
        print("\(name): logits max err \(logitError), \(prepared.ids.count) prompt tokens, \(prepared.visualAfter) visual, \(steps) greedy steps")
    }

    /// The processor's pixels as transformers flattens them: one row per patch in merge-block
    /// order (frame-group, block row, block column, in-block row, in-block column), values in
    /// (channel, frame, y, x) order; an image's one frame fills both frames of its temporal patch.
    static func patchRows(_ media: DecodedMedia, tower c: QwenVisionConfig) -> [Float] {
        let pixels: PixelBatch
        switch media.content {
        case .image(let image): pixels = image.pixels
        case .video(let frames, _): pixels = frames
        }
        let p = c.patchSize, gr = pixels.height / p, gc = pixels.width / p, plane = pixels.height * pixels.width
        let order = QwenPatchOrder(gridRows: gr, gridCols: gc, merge: c.mergeSize, windowCells: nil).order
        let isImage: Bool = { if case .image = media.content { return true } else { return false } }()
        let groups = isImage ? 1 : (pixels.count + c.temporalPatchSize - 1) / c.temporalPatchSize
        var out: [Float] = []
        for g in 0..<groups { for patch in order {
            let py = patch / gc, px = patch % gc
            for ch in 0..<3 { for t in 0..<c.temporalPatchSize {
                let f = isImage ? 0 : min(g * c.temporalPatchSize + t, pixels.count - 1)
                for y in 0..<p { for x in 0..<p {
                    out.append(pixels.data[f * pixels.imageStride + ch * plane + (py * p + y) * pixels.width + px * p + x])
                }}
            }}
        }}
        return out
    }

    static func sampleError(_ values: [Float], _ stats: [String: Any]) -> Float {
        let sample = stats["sample"] as! [String: Any]
        let indices = (sample["indices"] as! [NSNumber]).map(\.intValue), expected = (sample["values"] as! [NSNumber]).map(\.floatValue)
        return zip(indices, expected).map { i, e in i < values.count ? abs(values[i] - e) : .infinity }.max() ?? .infinity
    }

    static func maxAbs(_ stats: [String: Any]) -> Float {
        ((stats["sample"] as! [String: Any])["values"] as! [NSNumber]).map { abs($0.floatValue) }.max() ?? 1
    }
}
