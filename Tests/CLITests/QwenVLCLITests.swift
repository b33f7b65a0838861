import Foundation
import XCTest
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Qwen2.5-VL and Qwen3-VL through the `vlm` binary, on the parity fixtures (weights generated
/// once per test process): `logits` gives transformers 5.23's last-position logits for one
/// image; `describe` with every image reducer at 25% keeps a quarter of the merged tokens and
/// draws them (`--show-kept`); `ask` on a 4-frame video with DyCoke and with DivPrune reads
/// fewer tokens; `batch` writes one line per image; `serve` answers a chat completion with an
/// image and a reducer, streamed and not.
final class QwenVLCLITests: XCTestCase {
    static let families = ["qwen2_5_vl", "qwen3_vl"]
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples").standardized.path
    static let imageReducers = ["random", "pool", "divprune", "visionzip", "hiprune", "globalcom2", "flextok"]

    func temporary(_ name: String) -> String {
        NSTemporaryDirectory() + "vlm-qwen-cli-\(getpid())-\(name)"
    }

    func json(_ stdout: String) throws -> [String: Any] {
        let line = try XCTUnwrap(stdout.split(separator: "\n").last, "no output")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func tokens(_ result: [String: Any]) -> (before: Int, after: Int) {
        let t = result["tokens"] as? [String: Any]
        return ((t?["visual_before"] as? Int) ?? -1, (t?["visual_after"] as? Int) ?? -1)
    }

    /// A little-endian float32 .npy file's values (the header's shape is not needed here).
    func readNPY(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        guard data.count > 10, data.prefix(6) == Data([0x93] + Array("NUMPY".utf8)) else { throw CocoaError(.fileReadCorruptFile) }
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        return data.dropFirst(10 + headerLength).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    func testLogitsMatchTransformers() throws {
        for family in Self.families {
            let model = try FamilyFixtures.directory(family), fixture = FamilyFixtures.root + "/" + family
            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixture + "/expected.json"))) as! [String: Any]
            let a = (expected["cases"] as! [String: Any])["a"] as! [String: Any]
            let out = temporary("\(family)-logits.npy")
            defer { try? FileManager.default.removeItem(atPath: out) }
            let r = try runVLM(["logits", "--model", model, fixture + "/image_a.png", "--prompt", a["question"] as! String,
                                "--kv-cache", "f32", "--out", out])
            XCTAssertEqual(r.code, 0, r.stderr)
            let logits = try readNPY(out), reference = (a["last_logits"] as! [NSNumber]).map(\.floatValue)
            XCTAssertEqual(logits.count, reference.count, family)
            let err = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(err, 2e-3, "\(family): vlm logits against transformers")
        }
    }

    func testEveryImageReducerAndShowKept() throws {
        for family in Self.families {
            let model = try FamilyFixtures.directory(family)
            var before: Int?
            for reducer in Self.imageReducers {
                let picture = temporary("\(family)-\(reducer).png")
                defer { try? FileManager.default.removeItem(atPath: picture) }
                let r = try runVLM(["describe", "--model", model, Self.samples + "/wide.png", "--json", "--max-tokens", "4",
                                    "--reducer", reducer, "--keep-ratio", "0.25", "--show-kept", picture])
                XCTAssertEqual(r.code, 0, "\(family) \(reducer): \(r.stderr)")
                let result = try json(r.stdout)
                XCTAssertTrue(result["error"] is NSNull, "\(family) \(reducer): \(result)")
                let t = tokens(result)
                if before == nil { before = t.before }
                XCTAssertEqual(t.before, before, "\(family) \(reducer): visual_before")
                XCTAssertEqual(t.after, Int((Double(t.before) * 0.25).rounded()), "\(family) \(reducer): visual_after at 25%")
                let png = try Data(contentsOf: URL(fileURLWithPath: picture))
                XCTAssertEqual(png.prefix(4), Data([0x89, 0x50, 0x4E, 0x47]), "\(family) \(reducer): --show-kept wrote no PNG")
            }
            XCTAssertGreaterThan(before ?? 0, 16, family)
        }
    }

    func testVideoAndBatch() throws {
        for family in Self.families {
            let model = try FamilyFixtures.directory(family)
            var counts: [String: (Int, Int)] = [:]
            for (name, extra) in [("none", []), ("dycoke", ["--reducer", "dycoke"]), ("divprune", ["--reducer", "divprune", "--keep-ratio", "0.25"])] {
                let r = try runVLM(["ask", "--model", model, Self.samples + "/clip.mp4", "What happens?", "--frames", "4", "--json",
                                    "--max-tokens", "4"] + extra)
                XCTAssertEqual(r.code, 0, "\(family) video \(name): \(r.stderr)")
                counts[name] = tokens(try json(r.stdout))
            }
            let full = counts["none"]!.0
            XCTAssertEqual(counts["none"]!.1, full, family)
            XCTAssertLessThan(counts["dycoke"]!.1, full, "\(family): DyCoke merged nothing")
            XCTAssertGreaterThan(counts["dycoke"]!.1, 0, family)
            XCTAssertLessThanOrEqual(counts["divprune"]!.1, full / 4 + 2, "\(family): DivPrune at 25% per frame-group")

            let folder = temporary("\(family)-batch"), out = folder + ".jsonl"
            defer { try? FileManager.default.removeItem(atPath: folder); try? FileManager.default.removeItem(atPath: out) }
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            for name in ["shapes.png", "wide.png", "tall.png"] {
                try FileManager.default.copyItem(atPath: Self.samples + "/" + name, toPath: folder + "/" + name)
            }
            let r = try runVLM(["batch", folder, "--model", model, "--prompt", "Describe this image.", "--out", out, "--max-tokens", "4",
                                "--reducer", "hiprune", "--keep-ratio", "0.25"])
            XCTAssertEqual(r.code, 0, "\(family) batch: \(r.stderr)")
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
                .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            XCTAssertEqual(lines.count, 3, family)
            XCTAssertTrue(lines.allSatisfy { $0["error"] is NSNull && tokens($0).after > 0 && tokens($0).after < tokens($0).before }, "\(lines)")
        }
    }

    func testServe() async throws {
        for (i, family) in Self.families.enumerated() {
            let model = try FamilyFixtures.directory(family)
            let (p, port) = try await startVLMServer(["--model", model, "--media-root", Self.samples, "--max-tokens", "4"],
                                                     portOffset: 7331 + Int32(i))
            defer { p.terminate(); p.waitUntilExit() }
            for stream in [false, true] {
                let parts: [[String: Any]] = [["type": "text", "text": "What is this?"], ["type": "image_url", "image_url": ["url": "shapes.png"]]]
                let body: [String: Any] = ["model": "x", "messages": [["role": "user", "content": parts]], "reducer": "visionzip",
                                           "keep_ratio": 0.25, "stream": stream]
                let (status, data) = try await postChatCompletion(port: port, body, timeout: 120)
                let text = String(decoding: data, as: UTF8.self)
                XCTAssertEqual(status, 200, "\(family): \(text)")
                if stream {
                    XCTAssertTrue(text.contains("\"chat.completion.chunk\"") && text.hasSuffix("data: [DONE]\n\n"), "\(family): \(text)")
                } else {
                    let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
                    let t = tokens(try XCTUnwrap(object["vlm"] as? [String: Any]))
                    XCTAssertEqual(t.after, Int((Double(t.before) * 0.25).rounded()), "\(family): served reducer")
                    XCTAssertEqual((object["usage"] as? [String: Any])?["completion_tokens"] as? Int, 4, family)
                }
            }
        }
    }
}
