import XCTest
import Foundation
@testable import VLMRuntime
import TestSupport

/// Token ids of the real GGUF tokenizers against transformers' (Fixtures/tokenizer_*.json,
/// written by tools/make_tokenizer_fixtures.py from the same GGUF files): tricky strings
/// (digits, code, runs of spaces and newlines, contractions, emoji, CJK, accents, inline special
/// tokens, empty text) and the chat prompt as `LanguageModel.promptTokens` builds it.
final class TokenizerParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int32]; let roundTrips: Bool }
        struct Chat: Decodable { let question: String; let prompt: String; let ids: [Int32] }
        let model: String
        let cases: [Case]
        let chat: Chat
    }

    static func fixture(_ name: String) throws -> Fixture {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/\(name)")
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// The tokenizer, vocabulary and architecture of a real GGUF, loaded as `LanguageModel.load` does.
    static func load(_ file: String) throws -> (any Tokenizer, TokenizerVocabulary, String?) {
        let gguf = try GGUFFile(path: try installedModel(file))
        let vocabulary = try TokenizerVocabulary.fromGGUF(gguf)
        return (try makeTokenizer(vocabulary), vocabulary, try gguf.stringIfPresent("general.architecture"))
    }

    func checkCases(_ fixture: Fixture, _ tokenizer: any Tokenizer, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertGreaterThan(fixture.cases.count, 10, file: file, line: line)
        for c in fixture.cases {
            let ids = tokenizer.encode(c.text, addSpecial: false)
            XCTAssertEqual(ids, c.ids, "encode \(c.text.debugDescription)", file: file, line: line)
            if c.roundTrips {
                XCTAssertEqual(tokenizer.decode(c.ids), c.text, "decode of \(c.text.debugDescription)", file: file, line: line)
            }
        }
    }

    /// The chat prompt exactly as `LanguageModel.promptTokens(user:)` renders and encodes it.
    func promptTokens(_ question: String, _ tokenizer: any Tokenizer, _ vocabulary: TokenizerVocabulary,
                      architecture: String?) throws -> (ChatTemplate, String, [Int32]) {
        let template = try ChatTemplate.load(text: vocabulary.chatTemplate, origin: "test", vocabulary: vocabulary, architecture: architecture)
        let text = try template.render([ChatMessage(role: "user", content: question)], addGenerationPrompt: true)
        return (template, text, tokenizer.encode(text, addSpecial: template.addsSpecialTokens(to: text, processor: false)))
    }

    func testSmolLM2MatchesTransformers() throws {
        let fixture = try Self.fixture("tokenizer_smollm2.json")
        XCTAssertEqual(fixture.model, smolLM2File)
        let (tokenizer, vocabulary, architecture) = try Self.load(smolLM2File)
        XCTAssertTrue(tokenizer is ByteLevelBPETokenizer)
        XCTAssertEqual(vocabulary.preTokenizer, "smollm")
        checkCases(fixture, tokenizer)

        XCTAssertNotNil(vocabulary.chatTemplate, "SmolLM2-Instruct stores its ChatML template")
        let (template, text, ids) = try promptTokens(fixture.chat.question, tokenizer, vocabulary, architecture: architecture)
        XCTAssertFalse(template.isFallback, "the GGUF's own template")
        XCTAssertEqual(text, fixture.chat.prompt, "rendering matches apply_chat_template")
        XCTAssertEqual(ids, fixture.chat.ids, "prompt ids match transformers")
    }

    /// SentencePiece symbols are Unicode scalars compared by bytes: a decomposed accent is "e" +
    /// U+0301 even when the precomposed "é" is a token (Swift's String == would call them
    /// equal), and a flag or ZWJ sequence is several symbols, not one grapheme cluster.
    func testSentencePieceWorksOnScalarsNotGraphemes() throws {
        let tokens = ["<unk>", "▁", "e", "\u{301}", "é", "▁é", "🇫", "🇷", "🇫🇷", "a", "\r", "\n", "▁\u{301}"]
        var types = [TokenizerVocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[0] = .unknown
        let v = TokenizerVocabulary(model: .sentencePiece, preTokenizer: "default", tokens: tokens,
                                    scores: (0..<tokens.count).map { Float($0) }, types: types, unknownID: 0)
        let t = try makeTokenizer(v)
        XCTAssertEqual(t.encode("e\u{301}", addSpecial: false), [2, 3])
        XCTAssertEqual(t.encode("\u{e9}", addSpecial: false), [4])
        XCTAssertEqual(t.encode(" e\u{301}", addSpecial: false), [1, 2, 3])
        XCTAssertEqual(t.encode(" \u{e9}", addSpecial: false), [5])
        XCTAssertEqual(t.encode("🇫🇷", addSpecial: false), [8])
        XCTAssertEqual(t.encode("a\r\n", addSpecial: false), [9, 10, 11])
        XCTAssertEqual(t.encode(" \u{301}", addSpecial: false), [12], "a space before a combining mark is still a space")
        XCTAssertEqual(t.decode([12, 2, 3]), " \u{301}e\u{301}")
        XCTAssertEqual(Array(t.decode([12]).unicodeScalars), [" ", "\u{301}"])
    }

    func testGemma3MatchesTransformers() throws {
        let fixture = try Self.fixture("tokenizer_gemma3.json")
        XCTAssertEqual(fixture.model, gemma3File)
        let (tokenizer, vocabulary, architecture) = try Self.load(gemma3File)
        XCTAssertTrue(tokenizer is SentencePieceTokenizer)
        checkCases(fixture, tokenizer)

        let (template, text, ids) = try promptTokens(fixture.chat.question, tokenizer, vocabulary, architecture: architecture)
        XCTAssertEqual(template.origin, "fallback: Gemma", "the 270m GGUF stores no template: Gemma's published one stands in")
        XCTAssertEqual(text, fixture.chat.prompt)
        XCTAssertEqual(ids, fixture.chat.ids)
        XCTAssertEqual(ids.first, vocabulary.bosID, "one BOS, rendered by the template")
        XCTAssertEqual(ids.filter { $0 == vocabulary.bosID }.count, 1)
    }
}
