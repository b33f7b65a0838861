import XCTest
import Foundation
@testable import VLMRuntime

/// Chat templates as `ChatTemplate` runs them, against transformers' `apply_chat_template`
/// (Fixtures/chat_templates.json, from tools/make_tokenizer_fixtures.py): each family's real
/// template renders the same characters for conversations with and without a system message,
/// multi-turn, whitespace that Gemma and Llama 3 trim, and with and without the generation
/// prompt; the fallbacks used for models without a template render what the published templates
/// they stand for render; template files are found where transformers looks.
final class ChatTemplateTests: XCTestCase {
    struct Fixture: Decodable {
        struct Message: Decodable { let role: String; let content: String }
        struct Render: Decodable {
            let family: String; let name: String; let messages: [Message]; let addGenerationPrompt: Bool; let rendered: String
        }
        let templates: [String: String]
        let renders: [Render]
    }

    static func fixture() throws -> Fixture {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: TokenizerTests.fixtureURL("chat_templates.json")))
    }

    /// The special tokens tools/make_tokenizer_fixtures.py rendered each family with.
    static let specials: [String: [String: String]] = [
        "smollm2": [:],
        "qwen2": ["bos_token": "<|endoftext|>", "eos_token": "<|im_end|>"],
        "gemma3": ["bos_token": "<bos>", "eos_token": "<eos>"],
        "llama3": ["bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"],
        "vicuna": ["bos_token": "<s>", "eos_token": "</s>"],
    ]

    /// Which fallback stands for which published template.
    static let fallbacks: [String: ChatTemplateFallback.Fallback] = [
        "qwen2": ChatTemplateFallback.qwen2, "gemma3": ChatTemplateFallback.gemma, "vicuna": ChatTemplateFallback.vicuna,
    ]

    func testEveryFamilyRendersLikeTransformers() throws {
        let fixture = try Self.fixture()
        XCTAssertGreaterThanOrEqual(fixture.renders.count, 50)
        for r in fixture.renders {
            let source = try XCTUnwrap(fixture.templates[r.family])
            let specials = try XCTUnwrap(Self.specials[r.family], r.family)
            let messages = r.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let template = try ChatTemplate(source: source, specialTokens: specials, origin: r.family)
            XCTAssertEqual(try template.render(messages, addGenerationPrompt: r.addGenerationPrompt), r.rendered,
                           "\(r.family): \(r.name), generation prompt \(r.addGenerationPrompt)")
            if let fallback = Self.fallbacks[r.family] {
                let f = try ChatTemplate(source: fallback.source, specialTokens: specials, origin: fallback.name, isFallback: true)
                XCTAssertEqual(try f.render(messages, addGenerationPrompt: r.addGenerationPrompt), r.rendered,
                               "fallback \(fallback.name): \(r.name)")
            }
        }
    }

    func testFallbackByArchitectureWarns() throws {
        let v = TokenizerVocabulary(model: .byteLevelBPE, preTokenizer: "gpt2", tokens: ["<s>", "a"], bosID: 0)
        let gemma = try ChatTemplate.load(text: nil, origin: "x", vocabulary: v, architecture: "gemma3")
        XCTAssertTrue(gemma.isFallback)
        XCTAssertNotNil(gemma.warning)
        XCTAssertEqual(gemma.origin, "fallback: Gemma")
        XCTAssertEqual(try ChatTemplate.load(text: "", origin: "x", vocabulary: v, architecture: "qwen2").origin, "fallback: Qwen2 ChatML")
        XCTAssertEqual(try ChatTemplate.load(text: nil, origin: "x", vocabulary: v, architecture: "llava").origin, "fallback: Vicuna v1")
        let plain = try ChatTemplate.load(text: nil, origin: "x", vocabulary: v, architecture: "llama")
        XCTAssertEqual(try plain.render([ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", parts: [.image, .text("b")])],
                                        addGenerationPrompt: true), "a\nb")
        // The plain fallback gets the tokenizer's BOS; a real template's text is encoded as rendered.
        XCTAssertTrue(plain.addsSpecialTokens(to: "a", processor: false))
        XCTAssertFalse(plain.addsSpecialTokens(to: "<s>a", processor: false))
        let own = try ChatTemplate.load(text: "{{ messages[0].content }}", origin: "x", vocabulary: v, architecture: "llama")
        XCTAssertFalse(own.isFallback)
        XCTAssertNil(own.warning)
        XCTAssertEqual(own.specialTokens, ["bos_token": "<s>"])
        XCTAssertFalse(own.addsSpecialTokens(to: "a", processor: false))
        XCTAssertTrue(own.addsSpecialTokens(to: "a", processor: true), "a processor adds BOS unless the text starts with it")
    }

    func testTemplateErrorsAreBadInputWithThePosition() throws {
        let raising = try ChatTemplate(source: "line one\n{{ raise_exception('roles must alternate') }}", specialTokens: [:], origin: "t.jinja")
        XCTAssertThrowsError(try raising.render([], addGenerationPrompt: true)) { e in
            guard case VLMError.badInput(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("t.jinja") && m.contains("line 2") && m.contains("roles must alternate"), m)
        }
        XCTAssertThrowsError(try ChatTemplate(source: "{% for m in messages %}", specialTokens: [:], origin: "t.jinja")) { e in
            guard case VLMError.badInput(let m) = e else { return XCTFail("\(e)") }
            XCTAssertTrue(m.contains("syntax error"), m)
        }
        // A template cannot run away: its output is bounded.
        let big = try ChatTemplate(source: "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
                                   specialTokens: [:], origin: "t")
        XCTAssertThrowsError(try big.render([], addGenerationPrompt: true))
    }

    func testProcessorTemplatePrecedence() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-chat-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func write(_ name: String, _ text: String) throws { try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        XCTAssertNil(try ChatTemplateSource.processorTemplate(directory: dir.path))
        try write("chat_template.jinja", "jinja")
        XCTAssertEqual(try ChatTemplateSource.processorTemplate(directory: dir.path)?.text, "jinja")
        try write("chat_template.json", #"{"chat_template": "json"}"#)
        XCTAssertEqual(try ChatTemplateSource.processorTemplate(directory: dir.path)?.text, "json", "the legacy file wins over .jinja")
        try write("processor_config.json", #"{"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "named"}]}"#)
        XCTAssertEqual(try ChatTemplateSource.processorTemplate(directory: dir.path)?.text, "named")
        XCTAssertEqual(try ChatTemplateSource.processorTemplate(directory: dir.path, name: "tool_use")?.text, "tools")
        XCTAssertThrowsError(try ChatTemplateSource.processorTemplate(directory: dir.path, name: "nope"))
        try write("processor_config.json", #"{"chat_template": 5}"#)
        XCTAssertThrowsError(try ChatTemplateSource.processorTemplate(directory: dir.path))
    }
}
