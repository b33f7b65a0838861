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
