import Foundation
import XCTest
import TestSupport
@testable import VLMRuntime

/// LoRA adapters in llama.cpp's GGUF format (issue 20): tools/make_lora_fixture.py made a
/// rank-8 PEFT adapter on every linear layer of tiny Llama and Qwen2 models (random A and B, so
/// the update moves the logits), converted the base, the adapter (convert_lora_to_gguf.py, f32
/// and f16) and PEFT's merged model with llama.cpp's converters, and recorded transformers'
/// logits. vlm's base + adapter (y = Wx + s·B(Ax), never merged) must give the merged model's
/// logits and transformers' PEFT logits, at scale 1 and 0.5; the f16 adapter within its rounding.
final class LoRAAdapterTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/lora").path
    struct Expected: Decodable { let input_ids: [Int32]; let logits_base: [Float]; let logits_lora: [Float]; let logits_lora_half: [Float] }

    static var cases: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).filter { ModelLocator.isDirectory(root + "/" + $0) }.sorted()
    }

    func logits(_ dir: String, _ file: String, adapters: [(String, Float)] = [], ids: [Int32]) throws -> [Float] {
        let lm = try LanguageModel.load(path: dir + "/" + file)
        for (adapter, scale) in adapters { try lm.decoder.apply(LoRAAdapter(path: dir + "/" + adapter, scale: scale, for: lm.decoder.config)) }
        return try lm.decoder.forward(tokens: ids, cache: lm.decoder.makeCache(.f32), logits: .last)
    }

    static func maxDiff(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) }.max() ?? 0 : .infinity
    }

    func testAdaptersMatchMergedWeightsAndPEFT() throws {
        XCTAssertGreaterThanOrEqual(Self.cases.count, 1, "no LoRA fixtures in \(Self.root)")
        for name in Self.cases {
            let dir = Self.root + "/" + name
            let e = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
            let base = try logits(dir, "base-f32.gguf", ids: e.input_ids)
            let merged = try logits(dir, "merged-f32.gguf", ids: e.input_ids)
            let adapted = try logits(dir, "base-f32.gguf", adapters: [("adapter-f32.gguf", 1)], ids: e.input_ids)
            let half = try logits(dir, "base-f32.gguf", adapters: [("adapter-f32.gguf", 0.5)], ids: e.input_ids)
            let f16 = try logits(dir, "base-f32.gguf", adapters: [("adapter-f16.gguf", 1)], ids: e.input_ids)
            // The adapter must matter, or nothing below tests it.
            XCTAssertGreaterThan(Self.maxDiff(e.logits_lora, e.logits_base), 0.1, "\(name): the adapter barely moves the logits")
            XCTAssertLessThan(Self.maxDiff(base, e.logits_base), 1e-4, "\(name): base vs transformers")
            XCTAssertLessThan(Self.maxDiff(adapted, merged), 1e-4, "\(name): base + adapter vs the merged float32 model")
            XCTAssertLessThan(Self.maxDiff(adapted, e.logits_lora), 1e-4, "\(name): base + adapter vs PEFT")
            XCTAssertLessThan(Self.maxDiff(half, e.logits_lora_half), 1e-4, "\(name): adapter at 0.5 vs PEFT at half scale")
            let scale = max(1, e.logits_lora.map(abs).max() ?? 1)
            XCTAssertLessThan(Self.maxDiff(f16, e.logits_lora), 5e-3 * scale, "\(name): f16 adapter")
            print("\(name): base \(Self.maxDiff(base, e.logits_base)), +adapter vs merged \(Self.maxDiff(adapted, merged)), vs PEFT \(Self.maxDiff(adapted, e.logits_lora)), half \(Self.maxDiff(half, e.logits_lora_half)), f16 \(Self.maxDiff(f16, e.logits_lora))")
        }
    }

    /// An adapter for another model, a file that is no adapter, a bad scale: exit 3 (or 2), one line.
    func testMismatchedAndHostileAdaptersAreRefused() throws {
        let names = Self.cases
        guard names.count >= 2 else { throw XCTSkip("needs two LoRA fixtures") }
        let a = Self.root + "/" + names[0], b = Self.root + "/" + names[1]
        let lm = try LanguageModel.load(path: a + "/base-f32.gguf")
        XCTAssertThrowsError(try LoRAAdapter(path: a + "/base-f32.gguf", for: lm.decoder.config)) {
            XCTAssertEqual(($0 as? VLMError)?.exitCode, 3); XCTAssertTrue("\($0)".contains("not a LoRA adapter"), "\($0)")
        }
        let other = try LanguageModel.load(path: b + "/base-f32.gguf")
        if other.decoder.config.kvHeadCount != lm.decoder.config.kvHeadCount || other.decoder.config.intermediateSize != lm.decoder.config.intermediateSize
            || other.decoder.config.hiddenSize != lm.decoder.config.hiddenSize {
            XCTAssertThrowsError(try LoRAAdapter(path: b + "/adapter-f32.gguf", for: lm.decoder.config)) {
                XCTAssertEqual(($0 as? VLMError)?.exitCode, 3, "\($0)")
            }
        }
        XCTAssertEqual(try LoRAAdapter.parse("x.gguf:0.25").scale, 0.25)
        XCTAssertEqual(try LoRAAdapter.parse("/a:b/x.gguf").path, "/a:b/x.gguf")
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: a + "/adapter-f32.gguf")))
        bytes = Array(bytes.prefix(bytes.count / 2))
        let cut = TempFile(bytes, name: "lora-cut")
        XCTAssertThrowsError(try LoRAAdapter(path: cut.path, for: lm.decoder.config)) { XCTAssertEqual(($0 as? VLMError)?.exitCode, 3, "\($0)") }
        let r = try runVLM(["generate", "--model", a + "/base-f32.gguf", "--lora", cut.path, "--prompt", "hi", "--max-tokens", "2"])
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }
}
