import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// What the family parity tests share: a fixture's messages as transformers was given them,
/// and the check of a tiny fixture (tools/make_tiny_*_pair.py: the model the GGUF pair tests
/// convert) against its transformers record on Samples/shapes.png.
enum FixtureChecks {
    /// expected.json's `messages` (role + content parts) as chat messages.
    static func messages(_ json: [[String: Any]]) -> [ChatMessage] {
        json.map { m -> ChatMessage in
            let parts = (m["content"] as! [[String: Any]]).map { p -> ChatMessage.Part in
                switch p["type"] as! String {
                case "image": return .image
                case "video": return .video
                default: return .text(p["text"] as! String)
                }
            }
            return ChatMessage(role: m["role"] as! String, parts: parts)
        }
    }

    /// The tiny fixture `name`: transformers' prompt ids, last-position logits within 2e-3 and
    /// greedy tokens (up to a step whose top-two margin is under that tolerance), with whatever
    /// positions, injected rows and bidirectional runs its family gives the prompt.
    static func checkTiny(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        struct Expected: Decodable { let input_ids: [Int32]; let last_logits: [Float]; let greedy_ids: [Int32]; let greedy_margins: [Float] }
        let dir = FamilyFixtures.root + "/" + name
        let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
        let pipeline = try VLMPipeline(directory: dir)
        let messages = [ChatMessage(role: "user", parts: [.image, .text("What is in the picture?")])]
        var options = PipelineOptions()
        let prepared = try pipeline.prepare(.conversation(messages), media: [.image(try ImageLoader.load(path: ReducerEndToEndTests.image))], options: options)
        XCTAssertEqual(prepared.ids, e.input_ids, "\(name): prompt ids", file: file, line: line)
        let decoder = pipeline.model.language.decoder
        var x = prepared.embeddings
        let logits = try decoder.forward(embeddings: &x, rows: prepared.ids.count, cache: decoder.makeCache(.f32), logits: .last,
                                         positions: prepared.positions, injection: prepared.injection, bidirectional: prepared.bidirectional)
        let err = zip(logits, e.last_logits).map { abs($0 - $1) }.max() ?? .infinity
        XCTAssertLessThan(err, 2e-3, "\(name): last-position logits", file: file, line: line)
        options.maxTokens = e.greedy_ids.count
        let (result, _) = try pipeline.generate(prepared, options: options)
        let steps = e.greedy_margins.firstIndex { $0 < 2e-3 } ?? e.greedy_ids.count
        XCTAssertEqual(Array(result.tokens.prefix(steps)), Array(e.greedy_ids.prefix(steps)), "\(name): greedy tokens", file: file, line: line)
        print("\(name): logits max err \(err), \(prepared.ids.count) prompt tokens")
    }
}
