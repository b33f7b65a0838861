import XCTest
@testable import VLMRuntime

/// Generated ids turned into text one at a time: a token that ends inside a multi-byte
/// character (byte-level BPE pieces, byte-fallback tokens) must be held back, never shown as
/// U+FFFD, and the pieces together must equal decoding all the ids at once.
final class StreamingDetokenizerTests: XCTestCase {
    static let texts = [
        "👋🌍", "日本語のテキスト", "Café naïve résumé", "a👋b", "🇫🇷 flags, 👨‍👩‍👧 families, e\u{301} combining",
        "In 2024, the café served 1,234 croissants — 東京 visitors 😊 asked: ¿dónde está el baño?",
    ]

    /// Streams `ids` and checks every chunk and the total.
    func stream(_ ids: [Int32], _ tokenizer: any Tokenizer, _ what: String,
                file: StaticString = #filePath, line: UInt = #line) {
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        var text = ""
        for id in ids {
            let chunk = detok.push(id)
            XCTAssertFalse(chunk.unicodeScalars.contains("\u{FFFD}"), "\(what): chunk \(chunk.debugDescription) after id \(id)",
                           file: file, line: line)
            text += chunk
        }
        let rest = detok.flush()
        XCTAssertEqual(rest, "", "\(what): nothing left over after whole characters", file: file, line: line)
        text += rest
        XCTAssertEqual(text, tokenizer.decode(ids), what, file: file, line: line)
    }

    /// A SentencePiece vocabulary with byte fallback and no multi-byte pieces: every non-ASCII
    /// character becomes 2-4 byte tokens, so each one is split across pushes.
    func testByteFallbackCharactersAreHeldUntilComplete() throws {
        var tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "C", "é"]
        var types = [TokenizerVocabulary.TokenType](repeating: .normal, count: tokens.count)
        types[0] = .unknown; types[1] = .control; types[2] = .control
        for b in 0..<256 {
            tokens.append(String(format: "<0x%02X>", b)); types.append(.byte)
        }
        let v = TokenizerVocabulary(model: .sentencePiece, preTokenizer: "default", tokens: tokens, types: types,
                                    bosID: 1, eosID: 2, unknownID: 0, addBOS: false, addSpacePrefix: false)
        let tokenizer = try makeTokenizer(v)
        for text in Self.texts {
            let ids = tokenizer.encode(text, addSpecial: false)
            XCTAssertEqual(tokenizer.decode(ids), text)
            stream(ids, tokenizer, text)
        }
        // Split points inside one 4-byte character: nothing comes out until its last byte.
        let wave = tokenizer.encode("👋", addSpecial: false)
        XCTAssertEqual(wave.count, 4)
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        XCTAssertEqual(wave.dropLast().map { detok.push($0) }, ["", "", ""])
        XCTAssertEqual(detok.push(wave[3]), "👋")
        // An unfinished character at the end of generation is flushed as U+FFFD, not dropped.
        _ = detok.push(wave[0])
        XCTAssertEqual(detok.flush(), "\u{FFFD}")
        XCTAssertEqual(detok.flush(), "")
    }

    func testCompletePrefixLength() {
        let wave = Array("👋".utf8), e = Array("é".utf8)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([]), 0)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0x41]), 1)
        for n in 1..<4 { XCTAssertEqual(StreamingDetokenizer.completePrefixLength(Array(wave.prefix(n))), 0) }
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength(wave), 4)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0x41] + e.prefix(1)), 1)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength(e + wave.prefix(3)), 2)
    }

    func testRealTokenizersStreamWholeCharacters() throws {
        for file in [smolLM2File, gemma3File] {
            let (tokenizer, _, _) = try TokenizerParityTests.load(file)
            for text in Self.texts {
                let ids = tokenizer.encode(text, addSpecial: false)
                XCTAssertEqual(tokenizer.decode(ids), text, "\(file): \(text)")
                stream(ids, tokenizer, "\(file): \(text)")
            }
        }
    }

    /// transformers' ids for every parity fixture string, streamed one at a time.
    func testFixtureIdsStreamToTheirText() throws {
        for (file, fixture) in [(smolLM2File, "tokenizer_smollm2.json"), (gemma3File, "tokenizer_gemma3.json")] {
            let (tokenizer, _, _) = try TokenizerParityTests.load(file)
            for c in try TokenizerParityTests.fixture(fixture).cases where c.roundTrips {
                stream(c.ids, tokenizer, "\(file): \(c.text.debugDescription)")
                XCTAssertEqual(tokenizer.decode(c.ids), c.text)
            }
        }
    }
}

/// More streaming cases: SmolLM2's byte-level pieces of emoji and CJK fed one id at a time (the
/// ids of the reference fixtures, so the split points are transformers'), invalid bytes, and
/// leaving out control tokens.
final class StreamingDetokenizerEdgeCaseTests: XCTestCase {
    func testReferenceIdsStreamWholeCharacters() throws {
        for (fixtureName, file) in [("tokenizer_smollm2.json", smolLM2File), ("tokenizer_gemma3.json", gemma3File)] {
            let fixture = try TokenizerTests.modelFixture(fixtureName)
            let (tokenizer, _, _) = try TokenizerTests.load(file)
            var splitCharacters = 0
            for c in fixture.cases where c.roundTrips {
                var detok = StreamingDetokenizer(tokenizer: tokenizer)
                var text = ""
                for id in c.ids {
                    let piece = detok.push(id)
                    XCTAssertFalse(piece.unicodeScalars.contains("\u{FFFD}"), "\(file): \(c.text.debugDescription) after \(id)")
                    if piece.isEmpty { splitCharacters += 1 }
                    text += piece
                }
                XCTAssertEqual(detok.flush(), "")
                XCTAssertEqual(text, c.text, "\(file): \(c.text.debugDescription)")
            }
            XCTAssertGreaterThan(splitCharacters, 5, "\(file): the fixtures do split characters across tokens")
        }
    }

    func testSmolLM2EmojiIsHeldUntilComplete() throws {
        let (tokenizer, _, _) = try TokenizerTests.load(smolLM2File)
        let ids = tokenizer.encode("😀", addSpecial: false)
        XCTAssertGreaterThan(ids.count, 1, "byte-level BPE spells this emoji in several tokens")
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        let pieces = ids.map { detok.push($0) }
        XCTAssertEqual(pieces.dropLast().joined(), "")
        XCTAssertEqual(pieces.last, "😀")
    }

    func testInvalidBytesComeOutAtOnce() {
        // A continuation byte with no lead, an overlong lead, and a lead followed by ASCII.
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0x41, 0x80]), 2)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xC0]), 1)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xE6, 0x41]), 2)
        // E0 must be followed by A0...BF, ED by 80...9F, F0 by 90...BF, F4 by 80...8F.
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xE0, 0x80]), 2)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xE0, 0xA0]), 0)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xED, 0xA0]), 2)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xF4, 0x90]), 2)
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength([0xF5]), 1)
        // A finished character followed by a stray continuation byte.
        XCTAssertEqual(StreamingDetokenizer.completePrefixLength(Array("日".utf8) + [0x97]), 4)
    }

    func testSkippingControlTokens() throws {
        let (tokenizer, _, _) = try TokenizerTests.load(smolLM2File)
        var detok = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        let text = [1, 4093, 198, 6004, 2].map { detok.push($0) }.joined() + detok.flush()
        XCTAssertEqual(text, "user\nhi")
        var all = StreamingDetokenizer(tokenizer: tokenizer)
        XCTAssertEqual([1, 4093, 2].map { all.push($0) }.joined(), "<|im_start|>user<|im_end|>")
    }
}
