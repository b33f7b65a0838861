import XCTest
import Foundation
@testable import VLMRuntime
import TestSupport

/// The tokenizers against their references (Fixtures/tokenizer_*.json, pretokenizer_splits.json,
/// written by tools/make_tokenizer_fixtures.py): every fixture string's ids, what they decode
/// to, the rendered chat prompts and a ~3,000-token text, with the vocabulary read from the real
/// GGUF files through `GGUFFile`. Hand-made vocabularies check the mechanics without a model:
/// merge order, byte-exact lookups, special-token matching, GGUF metadata validation, and the
/// tokenizer.json loader.
final class TokenizerTests: XCTestCase {
    // MARK: Fixtures and models

    struct ModelFixture: Decodable {
        struct Case: Decodable { let text: String; let ids: [Int32]; let roundTrips: Bool; let decoded: String }
        struct Chat: Decodable { let question: String; let prompt: String; let ids: [Int32] }
        struct Message: Decodable { let role: String; let content: String }
        struct Conversation: Decodable {
            let name: String; let messages: [Message]; let addGenerationPrompt: Bool; let rendered: String; let ids: [Int32]
        }
        struct Stress: Decodable { let text: String; let ids: [Int32] }
        let model: String
        let chatTemplate: String?
        let cases: [Case]
        let chat: Chat
        let conversations: [Conversation]
        let stress: Stress
    }

    static func fixtureURL(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    }

    static func modelFixture(_ name: String) throws -> ModelFixture {
        try JSONDecoder().decode(ModelFixture.self, from: Data(contentsOf: fixtureURL(name)))
    }

    /// Loaded once per model file for the whole test run (building Gemma's 262k-token tables takes
    /// a moment in debug builds).
    nonisolated(unsafe) static var loaded: [String: (any Tokenizer, TokenizerVocabulary, String?)] = [:]
    static let loadLock = Lock()

    static func load(_ file: String) throws -> (tokenizer: any Tokenizer, vocabulary: TokenizerVocabulary, architecture: String?) {
        let path = try installedModel(file)
        return try loadLock.withLock {
            if let hit = loaded[file] { return hit }
            let gguf = try GGUFFile(path: path)
            let vocabulary = try TokenizerVocabulary.fromGGUF(gguf)
            let entry = (try makeTokenizer(vocabulary), vocabulary, try gguf.stringIfPresent("general.architecture"))
            loaded[file] = entry
            return entry
        }
    }

    func checkModel(_ fixtureName: String, _ modelFile: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let fixture = try Self.modelFixture(fixtureName)
        XCTAssertEqual(fixture.model, modelFile, file: file, line: line)
        let (tokenizer, vocabulary, architecture) = try Self.load(modelFile)
        XCTAssertGreaterThan(fixture.cases.count, 60, file: file, line: line)
        var failures = 0
        for c in fixture.cases {
            let ids = tokenizer.encode(c.text, addSpecial: false)
            if ids != c.ids { failures += 1 }
            XCTAssertEqual(ids, c.ids, "encode \(c.text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(c.ids), c.decoded, "decode of \(c.text.debugDescription)", file: file, line: line)
            if c.roundTrips {
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(c.text, addSpecial: false)), c.text,
                               "round trip of \(c.text.debugDescription)", file: file, line: line)
            }
        }
        XCTAssertEqual(failures, 0, "\(failures) of \(fixture.cases.count) strings tokenized differently", file: file, line: line)

        // Conversations rendered by the detected template, and their ids.
        let template = try ChatTemplate.load(text: vocabulary.chatTemplate, origin: "fixture", vocabulary: vocabulary, architecture: architecture)
        XCTAssertFalse(fixture.conversations.isEmpty, file: file, line: line)
        for conv in fixture.conversations {
            let messages = conv.messages.map { ChatMessage(role: $0.role, content: $0.content) }
            let text = try template.render(messages, addGenerationPrompt: conv.addGenerationPrompt)
            XCTAssertEqual(text, conv.rendered, "\(conv.name), generation prompt \(conv.addGenerationPrompt)", file: file, line: line)
            XCTAssertEqual(tokenizer.encode(text, addSpecial: false), conv.ids, "ids of \(conv.name)", file: file, line: line)
        }

        // A long mixed text, one piece for SentencePiece.
        XCTAssertEqual(tokenizer.encode(fixture.stress.text, addSpecial: false), fixture.stress.ids, file: file, line: line)
        XCTAssertEqual(tokenizer.decode(fixture.stress.ids), fixture.stress.text, file: file, line: line)
    }

    // MARK: Real models

    func testSmolLM2MatchesReference() throws {
        try checkModel("tokenizer_smollm2.json", smolLM2File)
        let (tokenizer, v, _) = try Self.load(smolLM2File)
        XCTAssertTrue(tokenizer is ByteLevelBPETokenizer)
        XCTAssertEqual(v.model, .byteLevelBPE)
        XCTAssertEqual(v.preTokenizer, "smollm")
        XCTAssertEqual(tokenizer.vocabSize, 49152)
        XCTAssertEqual(tokenizer.bosID, 1)
        XCTAssertFalse(v.addBOS)
        XCTAssertEqual(tokenizer.eosIDs, [0, 2], "<|endoftext|> and <|im_end|>")
        XCTAssertEqual(tokenizer.tokenString(1), "<|im_start|>")
        XCTAssertEqual(tokenizer.id(of: "<|im_end|>"), 2)
        XCTAssertEqual(tokenizer.id(of: "Ġthe"), 260)
        XCTAssertNil(tokenizer.id(of: "no such token"))
        XCTAssertNil(tokenizer.tokenString(-1))
        XCTAssertNil(tokenizer.tokenString(49152))
        // Raw prompts get no BOS: SmolLM2's GGUF says add_bos_token = false.
        XCTAssertEqual(tokenizer.encode("hi", addSpecial: true), tokenizer.encode("hi", addSpecial: false))
        XCTAssertEqual(tokenizer.encode("", addSpecial: false), [])
        XCTAssertEqual(tokenizer.decode([1, 4093, 2], skipSpecialTokens: true), "user")
    }

    /// The prompt the CLI sends for one question: ChatML with SmolLM2's default system message,
    /// tokenized exactly as transformers tokenizes `apply_chat_template(..., add_generation_prompt=True)`.
    func testSmolLM2CapitalOfFrancePrompt() throws {
        let (tokenizer, vocabulary, architecture) = try Self.load(smolLM2File)
        let template = try ChatTemplate.load(text: vocabulary.chatTemplate, origin: "SmolLM2", vocabulary: vocabulary, architecture: architecture)
        XCTAssertFalse(template.isFallback, "SmolLM2's GGUF stores its template")
        let text = try template.render([ChatMessage(role: "user", content: "What is the capital of France?")], addGenerationPrompt: true)
        XCTAssertEqual(text, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
                           + "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n")
        let expected: [Int32] = [1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411,
                                 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198,
                                 1, 520, 9531, 198]
        XCTAssertEqual(tokenizer.encode(text, addSpecial: false), expected)
        XCTAssertEqual(try Self.modelFixture("tokenizer_smollm2.json").chat.ids, expected)
    }

    func testGemma3MatchesReference() throws {
        try checkModel("tokenizer_gemma3.json", gemma3File)
        let (tokenizer, v, _) = try Self.load(gemma3File)
        XCTAssertTrue(tokenizer is SentencePieceTokenizer)
        XCTAssertEqual(v.model, .sentencePiece)
        XCTAssertEqual(v.sentencePieceMerges, .gemma)
        XCTAssertFalse(v.addSpacePrefix, "Gemma 3 has no dummy prefix")
        XCTAssertTrue(v.addBOS)
        XCTAssertEqual(tokenizer.vocabSize, 262144)
        XCTAssertEqual(tokenizer.bosID, 2)
        XCTAssertTrue(tokenizer.eosIDs.isSuperset(of: [1, 106]), "<eos> and <end_of_turn>")
        XCTAssertEqual(tokenizer.encode("Hello", addSpecial: true).first, 2, "raw prompts start with <bos>")
        XCTAssertEqual(tokenizer.id(of: "  "), 138, "space runs are found by their stored spelling")
        XCTAssertEqual(tokenizer.id(of: "<start_of_turn>"), 105)
        XCTAssertEqual(tokenizer.decode([2, 105, 2364, 107], skipSpecialTokens: true), "user\n")
        // Byte-fallback tokens that are not valid UTF-8 decode as one U+FFFD each, as HF's ByteFallback does.
        let e2 = try XCTUnwrap(tokenizer.id(of: "<0xE2>")), x96 = try XCTUnwrap(tokenizer.id(of: "<0x96>"))
        XCTAssertEqual(tokenizer.decode([e2, x96]), "\u{FFFD}\u{FFFD}")
    }

    /// A 2,000-token prompt must take milliseconds (release); debug builds only report the time.
    func testEncodingSpeed() throws {
        for (fixtureName, file) in [("tokenizer_smollm2.json", smolLM2File), ("tokenizer_gemma3.json", gemma3File)] {
            let fixture = try Self.modelFixture(fixtureName)
            let (tokenizer, _, _) = try Self.load(file)
            var best = Double.infinity
            for _ in 0..<5 {
                let t0 = ProcessStats.now
                let ids = tokenizer.encode(fixture.stress.text, addSpecial: false)
                best = min(best, ProcessStats.now - t0)
                XCTAssertEqual(ids.count, fixture.stress.ids.count)
            }
            print("\(file): \(fixture.stress.ids.count) tokens encoded in \(String(format: "%.2f", best * 1000)) ms")
            #if !DEBUG
            XCTAssertLessThan(best, 0.05, "encoding \(fixture.stress.ids.count) tokens took \(best) s")
            #endif
        }
    }

    // MARK: Pre-tokenizer splits (no model needed)

    func testPreTokenizerSplitsMatchHFRegexes() throws {
        struct Splits: Decodable { struct Case: Decodable { let text: String; let splits: [String: [String]] }; let cases: [Case] }
        let fixture = try JSONDecoder().decode(Splits.self, from: Data(contentsOf: Self.fixtureURL("pretokenizer_splits.json")))
        XCTAssertGreaterThan(fixture.cases.count, 60)
        for pre in PreTokenizer.allCases {
            var failures = 0
            for c in fixture.cases {
                let expected = try XCTUnwrap(c.splits[pre.rawValue])
                let got = pre.split(c.text)
                if got != expected { failures += 1 }
                XCTAssertEqual(got, expected, "\(pre) split of \(c.text.debugDescription)")
            }
            XCTAssertEqual(failures, 0, "\(pre): \(failures) texts split differently")
        }
    }

    func testPreTokenizerNames() {
        XCTAssertEqual(PreTokenizer(ggufName: "smollm"), .smollm)
        XCTAssertEqual(PreTokenizer(ggufName: "llama-bpe"), .llama3)
        XCTAssertEqual(PreTokenizer(ggufName: "qwen2"), .qwen2)
        XCTAssertEqual(PreTokenizer(ggufName: "gpt-2"), .gpt2)
        XCTAssertEqual(PreTokenizer(ggufName: "default"), .gpt2)
        XCTAssertEqual(PreTokenizer.llama3.split("12345 abc"), ["123", "45", " abc"])
        XCTAssertEqual(PreTokenizer.qwen2.split("12345"), ["1", "2", "3", "4", "5"])
        XCTAssertEqual(PreTokenizer.smollm.split(" 12 ab"), [" ", "1", "2", " ab"])
        XCTAssertEqual(PreTokenizer.gpt2.split("a  b\n"), ["a", " ", " b", "\n"])
    }

    // MARK: Mechanics on hand-made vocabularies

    /// A byte-level vocabulary over the letters a-d and space, with a few merges.
    static func tinyByteLevel(merges: [String], specials: [String] = [], pre: String = "gpt2") throws -> any Tokenizer {
        var tokens = ["<|end|>", "Ġ", "a", "b", "c", "d", "ab", "bc", "abc", "Ġa", "Ġab", "cd", "aa", "aaa"]
        var types = [TokenizerVocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[0] = .control
        for s in specials { tokens.append(s); types.append(.userDefined) }
        let v = TokenizerVocabulary(model: .byteLevelBPE, preTokenizer: pre, tokens: tokens, types: types,
                                    merges: merges, eosID: 0)
        return try makeTokenizer(v)
    }

    func testByteLevelMergesFollowRankThenPosition() throws {
        // "a b" ranks first: abc = (ab)c.
        let t1 = try Self.tinyByteLevel(merges: ["a b", "b c", "ab c"])
        XCTAssertEqual(t1.encode("abc", addSpecial: false), [8])
        // "b c" ranks first: bc is formed, and "a bc" is not a merge, so a + bc.
        let t2 = try Self.tinyByteLevel(merges: ["b c", "a b", "ab c"])
        XCTAssertEqual(t2.encode("abc", addSpecial: false), [2, 7])
        // Equal pairs merge leftmost first: aaa -> (aa)a, never a(aa), then aaa only via "aa a".
        let t3 = try Self.tinyByteLevel(merges: ["a a", "aa a"])
        XCTAssertEqual(t3.encode("aaaa", addSpecial: false), [12, 12])
        XCTAssertEqual(t3.encode("aaa", addSpecial: false), [13])
        // A space starts the next word's piece ("Ġab"); bytes without a symbol are dropped.
        let t4 = try Self.tinyByteLevel(merges: ["Ġ a", "Ġa b"])
        XCTAssertEqual(t4.encode("ab ab", addSpecial: false), [2, 3, 10])
        XCTAssertEqual(t4.encode("a\u{1}b", addSpecial: false), [2, 3], "byte 0x01 has no symbol in this vocabulary")
        XCTAssertEqual(t4.decode([10, 0]), " ab<|end|>")
    }

    func testSpecialTokensMatchLeftmostLongest() throws {
        let t = try Self.tinyByteLevel(merges: ["a b"], specials: ["<x>", "<x><y>", "b<"])
        // At "<x><y>" the longer token wins; "b<" starts before "<x>" and so wins there, leaving
        // "x>" as text (no symbols for x and > in this vocabulary: dropped).
        XCTAssertEqual(t.encode("a<x><y>b<x>", addSpecial: false), [2, 15, 16])
        XCTAssertEqual(t.encode("<x>ab", addSpecial: false), [14, 6])
        XCTAssertEqual(t.encode("<|end|>cd<|end|>", addSpecial: false), [0, 4, 5, 0])
        XCTAssertEqual(t.encode("<|end|", addSpecial: false).contains(0), false, "an unfinished special is text")
    }

    func testTokenLookupComparesBytes() {
        var lookup = TokenLookup(capacity: 2)
        lookup.insert("\u{e9}", id: 7)
        lookup.insert("\u{e9}", id: 8)   // duplicates: the first id wins
        XCTAssertEqual(lookup.id(of: "\u{e9}"), 7)
        XCTAssertNil(lookup.id(of: "e\u{301}"), "canonically equivalent, but other bytes")
        XCTAssertNil(lookup.id(of: ""))
        lookup.insert("", id: 9)
        XCTAssertEqual(lookup.id(of: ""), 9)
        // Growing keeps every entry.
        for i in 0..<1000 { lookup.insert("t\(i)", id: Int32(100 + i)) }
        XCTAssertEqual(lookup.id(of: "t999"), 1099)
        XCTAssertEqual(lookup.id(of: "\u{e9}"), 7)
    }

    func testSentencePieceMergeOrder() throws {
        func tokenizer(_ scores: [Float], _ merges: TokenizerVocabulary.SentencePieceMerges = .scores) throws -> any Tokenizer {
            let tokens = ["<unk>", "a", "b", "c", "ab", "bc"]
            return try makeTokenizer(TokenizerVocabulary(model: .sentencePiece, preTokenizer: "default", tokens: tokens,
                                                         scores: scores, unknownID: 0, sentencePieceMerges: merges))
        }
        // The better score merges first and takes the shared "b".
        XCTAssertEqual(try tokenizer([0, 0, 0, 0, -2, -1]).encode("abc", addSpecial: false), [1, 5])
        XCTAssertEqual(try tokenizer([0, 0, 0, 0, -1, -2]).encode("abc", addSpecial: false), [4, 3])
        // Gemma's order ignores the scores: the earlier token ("ab", id 4) merges first.
        XCTAssertEqual(try tokenizer([0, 0, 0, 0, -2, -1], .gemma).encode("abc", addSpecial: false), [4, 3])
        // Equal scores: leftmost first.
        XCTAssertEqual(try tokenizer([0, 0, 0, 0, -1, -1]).encode("abc", addSpecial: false), [4, 3])
    }

    func testSentencePieceDummyPrefixAndByteFallback() throws {
        let tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "▁b", "▁ab", "<0xC3>", "<0xA9>", "<0xF0>", "<0x9F>", "<0x91>", "<0x8B>"]
        var types = [TokenizerVocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[0] = .unknown; types[1] = .control; types[2] = .control
        for i in 9..<tokens.count { types[i] = .byte }
        let scores: [Float] = [0, 0, 0, -5, -5, -5, -2, -1, -3, 0, 0, 0, 0, 0, 0]
        let v = TokenizerVocabulary(model: .sentencePiece, preTokenizer: "default", tokens: tokens, scores: scores,
                                    types: types, bosID: 1, eosID: 2, unknownID: 0, addBOS: true, addSpacePrefix: true)
        let t = try makeTokenizer(v)
        XCTAssertEqual(t.encode("ab", addSpecial: false), [8], "the dummy prefix ▁ is added at the start")
        XCTAssertEqual(t.encode("ab", addSpecial: true), [1, 8])
        XCTAssertEqual(t.encode("</s>ab", addSpecial: false), [2, 6], "no prefix after a special token (HF prepends only at the start)")
        XCTAssertEqual(t.encode("a b", addSpecial: false), [3, 4, 7])
        XCTAssertEqual(t.encode("é", addSpecial: false), [3, 9, 10], "characters outside the vocabulary become bytes")
        XCTAssertEqual(t.encode("ç", addSpecial: false), [3, 0], "without all byte tokens: <unk>")
        XCTAssertEqual(t.decode([3, 4, 7]), "a b", "the dummy prefix is dropped again")
        XCTAssertEqual(t.decode([9, 10]), "é")
        XCTAssertEqual(t.decode([9]), "\u{FFFD}")
    }

    // MARK: GGUF metadata

    static func metadata(_ overrides: [String: GGUFValue?] = [:]) -> [String: GGUFValue] {
        var m: [String: GGUFValue] = [
            "general.architecture": .string("llama"),
            "tokenizer.ggml.model": .string("gpt2"),
            "tokenizer.ggml.pre": .string("smollm"),
            "tokenizer.ggml.tokens": .stringArray(["<|end|>", "a", "b", "ab"]),
            "tokenizer.ggml.token_type": .intArray([3, 1, 1, 1]),
            "tokenizer.ggml.merges": .stringArray(["a b"]),
            "tokenizer.ggml.bos_token_id": .int(0),
            "tokenizer.ggml.eos_token_id": .int(0),
            "tokenizer.chat_template": .string("{{ '<|im_start|>' }}"),
        ]
        for (k, v) in overrides { m[k] = v }
        return m
    }

    func testVocabularyFromGGUFMetadata() throws {
        let v = try TokenizerVocabulary.fromGGUFMetadata(Self.metadata(), source: "test.gguf")
        XCTAssertEqual(v.model, .byteLevelBPE)
        XCTAssertEqual(v.preTokenizer, "smollm")
        XCTAssertEqual(v.types, [.control, .normal, .normal, .normal])
        XCTAssertEqual(v.scores, [0, 0, 0, 0])
        XCTAssertFalse(v.addBOS, "byte-level BPE adds no BOS unless the file says so")
        XCTAssertEqual(v.chatTemplate, "{{ '<|im_start|>' }}")
        XCTAssertEqual(try makeTokenizer(v).encode("ab<|end|>", addSpecial: false), [3, 0])

        let spm = try TokenizerVocabulary.fromGGUFMetadata(Self.metadata([
            "tokenizer.ggml.model": .string("llama"), "general.architecture": .string("gemma3"),
            "tokenizer.ggml.scores": .floatArray([0, -1, -2, -3]), "tokenizer.ggml.merges": nil,
        ]), source: "test.gguf")
        XCTAssertEqual(spm.model, .sentencePiece)
        XCTAssertTrue(spm.addBOS, "llama.cpp's default for SentencePiece")
        XCTAssertTrue(spm.addSpacePrefix)
        XCTAssertEqual(spm.sentencePieceMerges, .gemma)
    }

    func testVocabularyFromGGUFMetadataRejectsBadFiles() {
        func expectError(_ overrides: [String: GGUFValue?], _ kind: String, line: UInt = #line) {
            XCTAssertThrowsError(try TokenizerVocabulary.fromGGUFMetadata(Self.metadata(overrides), source: "t.gguf"), line: line) {
                XCTAssertEqual(($0 as? VLMError)?.kind, kind, "\($0)", line: line)
            }
        }
        expectError(["tokenizer.ggml.model": nil], "bad_input")
        expectError(["tokenizer.ggml.model": .string("bert")], "unsupported")
        expectError(["tokenizer.ggml.model": .int(2)], "bad_input")
        expectError(["tokenizer.ggml.tokens": nil], "bad_input")
        expectError(["tokenizer.ggml.tokens": .stringArray([])], "bad_input")
        expectError(["tokenizer.ggml.tokens": .intArray([1, 2])], "bad_input")
        expectError(["tokenizer.ggml.token_type": .intArray([1, 1])], "bad_input")
        expectError(["tokenizer.ggml.scores": .floatArray([0])], "bad_input")
        expectError(["tokenizer.ggml.scores": .stringArray(["x"])], "bad_input")
        expectError(["tokenizer.ggml.eos_token_id": .int(4)], "bad_input")
        expectError(["tokenizer.ggml.bos_token_id": .int(-1)], "bad_input")
        expectError(["tokenizer.ggml.bos_token_id": .string("0")], "bad_input")
        expectError(["tokenizer.ggml.add_bos_token": .int(1)], "bad_input")
        expectError(["tokenizer.ggml.merges": nil], "bad_input")
        expectError(["tokenizer.chat_template": .int(0)], "bad_input")
    }

    // MARK: tokenizer.json

    func testTokenizerJSONLoaderByteLevel() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-tokjson-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokenizer: [String: Any] = [
            "model": ["type": "BPE", "vocab": ["a": 1, "b": 2, "ab": 3, "Ġ": 4, "1": 5, "2": 6], "merges": [["a", "b"]]],
            "added_tokens": [["id": 0, "content": "<|endoftext|>", "special": true]],
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Digits", "individual_digits": true], ["type": "ByteLevel", "add_prefix_space": false]]],
            "decoder": ["type": "ByteLevel"],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: dir.appendingPathComponent("tokenizer.json"))
        try JSONSerialization.data(withJSONObject: ["eos_token": "<|endoftext|>", "chat_template": "<|im_start|>{{ x }}"])
            .write(to: dir.appendingPathComponent("tokenizer_config.json"))
        let v = try TokenizerJSONLoader.load(directory: dir.path)
        XCTAssertEqual(v.model, .byteLevelBPE)
        XCTAssertEqual(v.preTokenizer, "smollm")
        XCTAssertEqual(v.eosID, 0)
        XCTAssertEqual(v.chatTemplate, "<|im_start|>{{ x }}")
        let t = try makeTokenizer(v)
        XCTAssertEqual(t.encode("ab 12<|endoftext|>", addSpecial: false), [3, 4, 5, 6, 0])
        XCTAssertEqual(t.decode([3, 4, 5, 6, 0]), "ab 12<|endoftext|>")

        try Data("{}".utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try TokenizerJSONLoader.load(directory: dir.path))
    }

    /// A Gemma-style tokenizer.json: BPE with byte fallback behind a "▁" normalizer, and two
    /// canonically equivalent tokens (Ω U+03A9 and the ohm sign U+2126) that must stay apart.
    func testTokenizerJSONLoaderSentencePiece() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-tokjson-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let json = #"""
        {"model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
                   "vocab": {"<unk>": 0, "<bos>": 1, "\u2581": 2, "a": 3, "b": 4, "ab": 5, "\u2581ab": 6,
                             "\u03a9": 7, "\u2126": 8, "<0xC3>": 9, "<0xA9>": 10},
                   "merges": ["a b", "\u2581 ab"]},
         "added_tokens": [{"id": 1, "content": "<bos>", "special": true}],
         "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
         "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
                                                     {"type": "ByteFallback"}, {"type": "Fuse"}]}}
        """#
        try Data(json.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        try Data(#"{"bos_token": {"content": "<bos>"}, "add_bos_token": true}"#.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        try Data("{% for m in messages %}<start_of_turn>{% endfor %}".utf8).write(to: dir.appendingPathComponent("chat_template.jinja"))
        let v = try TokenizerJSONLoader.load(directory: dir.path)
        XCTAssertEqual(v.model, .sentencePiece)
        XCTAssertFalse(v.addSpacePrefix)
        XCTAssertEqual(v.bosID, 1)
        XCTAssertEqual(v.types[9], .byte)
        XCTAssertEqual(v.chatTemplate, "{% for m in messages %}<start_of_turn>{% endfor %}")
        let t = try makeTokenizer(v)
        XCTAssertEqual(t.encode("ab ab\u{3a9}\u{2126}é", addSpecial: true), [1, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(t.decode([1, 5, 6, 7, 8, 9, 10]), "<bos>ab ab\u{3a9}\u{2126}é")
    }

    func testJSONValue() throws {
        let v = try JSONValue.parse(Array(#"{"a": [1, -2.5e1, true, null, "x\"\u00e9\ud83d\ude00\n"], "\u2126": 1, "\u03a9": 2}"#.utf8))
        XCTAssertEqual(v["a"]?.arrayValue?.count, 5)
        XCTAssertEqual(v["a"]?.arrayValue?[1].intValue, -25)
        XCTAssertEqual(v["a"]?.arrayValue?[4].stringValue, "x\"é😀\n")
        XCTAssertEqual(v.members?.map { Array($0.key.unicodeScalars) }, [["a"], ["\u{2126}"], ["\u{3a9}"]], "equivalent keys stay two keys")
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"abc", "tru", "[1] x", String(repeating: "[", count: 300) + String(repeating: "]", count: 300)] {
            XCTAssertThrowsError(try JSONValue.parse(Array(bad.utf8)), bad)
        }
    }
}
