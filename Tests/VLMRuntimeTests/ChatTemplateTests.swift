import XCTest
import Foundation
@testable import VLMRuntime

/// Chat prompts against transformers' `apply_chat_template` (Fixtures/chat_templates.json, from
/// tools/make_tokenizer_fixtures.py): each family's real Jinja template is recognised by
/// `ChatTemplate.detect`, and `render` gives the same characters for conversations with and
/// without a system message, multi-turn, whitespace that Gemma and Llama 3 trim, and with and
/// without the generation prompt.
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

    static let expectedFamily: [String: ChatTemplate] = [
        "smollm2": .chatML(defaultSystem: ChatTemplate.smolLM2System),
        "qwen2": .chatML(defaultSystem: ChatTemplate.qwen2System),
        "gemma3": .gemma,
        "llama3": .llama3,
        "vicuna": .vicuna,
    ]

    func testEveryFamilyRendersLikeTransformers() throws {
        let fixture = try Self.fixture()
        XCTAssertEqual(Set(fixture.templates.keys), Set(Self.expectedFamily.keys))
        for (family, source) in fixture.templates {
            let (template, warning) = ChatTemplate.detect(templateString: source, architecture: nil)
            XCTAssertEqual(template, Self.expectedFamily[family], family)
            XCTAssertNil(warning, family)
        }
        XCTAssertGreaterThanOrEqual(fixture.renders.count, 50)
        for r in fixture.renders {
            let template = try XCTUnwrap(Self.expectedFamily[r.family])
            let text = template.render(r.messages.map { ChatMessage(role: $0.role, content: $0.content) },
                                       addGenerationPrompt: r.addGenerationPrompt)
            XCTAssertEqual(text, r.rendered, "\(r.family): \(r.name), generation prompt \(r.addGenerationPrompt)")
        }
    }

    func testSmolLM2SingleQuestion() {
        let t = ChatTemplate.chatML(defaultSystem: ChatTemplate.smolLM2System)
        XCTAssertEqual(t.render([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true),
                       "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                       + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        // A system message of its own replaces the default.
        XCTAssertEqual(t.render([ChatMessage(role: "system", content: "S"), ChatMessage(role: "user", content: "Hi")],
                                addGenerationPrompt: false),
                       "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
        XCTAssertEqual(t.render([], addGenerationPrompt: true), "<|im_start|>assistant\n")
    }

    func testGemmaFoldsSystemIntoFirstUserTurn() {
        let text = ChatTemplate.gemma.render([ChatMessage(role: "system", content: "Be brief."),
                                              ChatMessage(role: "user", content: " Hi \n"),
                                              ChatMessage(role: "assistant", content: "Hello."),
                                              ChatMessage(role: "user", content: "Bye")], addGenerationPrompt: true)
        XCTAssertEqual(text, "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello.<end_of_turn>\n"
                             + "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n")
        XCTAssertTrue(ChatTemplate.gemma.rendersBOS)
    }

    func testVicunaIsLLaVAsConversation() {
        let text = ChatTemplate.vicuna.render([ChatMessage(role: "user", content: "<image>\nWhat is this?")], addGenerationPrompt: true)
        XCTAssertEqual(text, ChatTemplate.vicunaSystem + " USER: <image>\nWhat is this? ASSISTANT:")
    }

    func testDetection() {
        // ChatML's default system message is read from the template, whichever way the newline is written.
        let qwen25 = "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
            + "{%- else %}{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}{%- endif %}"
        XCTAssertEqual(ChatTemplate.detect(templateString: qwen25, architecture: "qwen2").0,
                       .chatML(defaultSystem: "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."))
        let noDefault = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n'}}{% endfor %}"
        XCTAssertEqual(ChatTemplate.detect(templateString: noDefault, architecture: nil).0, .chatML(defaultSystem: nil))
        let escaped = "{{ '<|im_start|>system\\nYou\\'re kind.<|im_end|>\\n' }}"
        XCTAssertEqual(ChatTemplate.detect(templateString: escaped, architecture: nil).0, .chatML(defaultSystem: "You're kind."))

        // Unknown templates fall back to the plain prompt, with a warning.
        let (unknown, warning) = ChatTemplate.detect(templateString: "{{ messages[0]['content'] }} ###", architecture: "llama")
        XCTAssertEqual(unknown, .plain)
        XCTAssertNotNil(warning)
        XCTAssertEqual(ChatTemplate.plain.render([ChatMessage(role: "user", content: "a"), ChatMessage(role: "user", content: "b")],
                                                 addGenerationPrompt: true), "a\nb")

        // Without a template: by architecture.
        XCTAssertEqual(ChatTemplate.detect(templateString: nil, architecture: "gemma3").0, .gemma)
        XCTAssertNil(ChatTemplate.detect(templateString: nil, architecture: "gemma3").warning)
        XCTAssertEqual(ChatTemplate.detect(templateString: "", architecture: "qwen2").0, .chatML(defaultSystem: ChatTemplate.qwen2System))
        XCTAssertEqual(ChatTemplate.detect(templateString: nil, architecture: "llama").0, .plain)
        XCTAssertNotNil(ChatTemplate.detect(templateString: nil, architecture: nil).warning)

        // Llama 3.1's template is recognised, with a warning about its date header.
        let llama31 = "{{- '<|start_header_id|>system<|end_header_id|>\\n\\n' }}{{- 'Cutting Knowledge Date: December 2023\\n' }}"
        let (l31, w31) = ChatTemplate.detect(templateString: llama31, architecture: "llama")
        XCTAssertEqual(l31, .llama3)
        XCTAssertNotNil(w31)
    }

    func testTrimIsPythonStrip() {
        XCTAssertEqual(" \t\n\u{3000}x y\u{1F}\u{85} ".jinjaTrimmed(), "x y")
        XCTAssertEqual("\u{200B}x".jinjaTrimmed(), "\u{200B}x", "zero-width space is not whitespace to Python")
        XCTAssertEqual("  ".jinjaTrimmed(), "")
    }
}
