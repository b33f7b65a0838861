import XCTest
import Foundation
@testable import VLMRuntime

/// Random-initialised tiny Llama, Qwen2 and Gemma 3 checkpoints made by transformers
/// (tools/make_tiny_decoders.py; stored as F32, BF16 and sharded F16 safetensors). The runtime
/// must reproduce transformers' last-position logits within 1e-3 and its 20 greedy tokens.
final class TinyDecoderParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    struct Expected: Decodable {
        let prompt_ids: [Int32]
        let last_logits: [Float]
        let greedy_ids: [Int32]
    }

    func check(_ family: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = Self.fixtures + "/tiny-\(family)"
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
        let model = try HFDecoderLoader.load(directory: dir)
        for kv in [KVCacheType.f32, .f16] {
            let cache = model.makeCache(kv)
            var logits = try model.forward(tokens: expected.prompt_ids, cache: cache)
            if kv == .f32 {
                let diff = zip(logits, expected.last_logits).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(diff, 1e-3, "\(family): max |logit - transformers|", file: file, line: line)
            }
            var generated: [Int32] = []
            for _ in 0..<expected.greedy_ids.count {
                let next = Int32(Sampler.argmax(logits))
                generated.append(next)
                logits = try model.forward(tokens: [next], cache: cache)
            }
            XCTAssertEqual(generated, expected.greedy_ids, "\(family) greedy tokens, \(kv) cache", file: file, line: line)
        }
    }

    func testLlamaMatchesTransformers() throws { try check("llama") }
    func testQwen2MatchesTransformers() throws { try check("qwen2") }
    func testGemma3MatchesTransformers() throws {
        try check("gemma3")
        let c = try HFDecoderLoader.loadConfig(directory: Self.fixtures + "/tiny-gemma3")
        XCTAssertEqual((0..<7).map(c.isGlobalLayer), [false, false, false, false, false, true, false])
        XCTAssertEqual(c.slidingWindow, 6)
    }
}
