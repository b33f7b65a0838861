import Foundation
import XCTest
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vlm serve` end to end on the tiny LLaVA-OneVision model: OpenAI-format completions with a
/// data: URL image, streaming, media-root rules, malformed requests (400), the body limit
/// (413), a full queue (429), /v1/models, /health and /metrics.
final class ServeTests: XCTestCase {
    static let model = vlmFixtures + "/llava_onevision"
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples").standardized.path

    func request(_ port: Int, _ path: String, body: Data? = nil) async throws -> (Int, String) {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.timeoutInterval = 60
        if let body { r.httpMethod = "POST"; r.httpBody = body; r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: r)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    func chat(_ content: Any, extra: [String: Any] = [:]) -> Data {
        var body: [String: Any] = ["model": "x", "messages": [["role": "user", "content": content]]]
        body.merge(extra) { $1 }
        return try! JSONSerialization.data(withJSONObject: body)
    }

    func testServer() async throws {
        let (p, port) = try await startVLMServer(["--model", Self.model, "--queue", "0", "--max-body-mb", "1",
                       "--media-root", Self.samples, "--max-tokens", "8"], portOffset: 0)
        defer { p.terminate(); p.waitUntilExit() }

        let (mcode, models) = try await request(port, "/v1/models")
        XCTAssertEqual(mcode, 200); XCTAssertTrue(models.contains("llava_onevision"), models)

        let png = try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/shapes.png")).base64EncodedString()
        let parts: [[String: Any]] = [["type": "text", "text": "What is in the picture?"],
                                      ["type": "image_url", "image_url": ["url": "data:image/png;base64," + png]]]
        let (code, text) = try await request(port, "/v1/chat/completions", body: chat(parts, extra: ["reducer": "pool", "keep": 16]))
        XCTAssertEqual(code, 200, text)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        XCTAssertEqual(object?["object"] as? String, "chat.completion")
        let message = ((object?["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])
        XCTAssertNotNil(message?["content"] as? String)
        XCTAssertEqual(((object?["vlm"] as? [String: Any])?["tokens"] as? [String: Any])?["visual_before"] as? Int, 190)
        XCTAssertEqual((object?["usage"] as? [String: Any])?["completion_tokens"] as? Int, 8)

        let (scode, streamed) = try await request(port, "/v1/chat/completions", body: chat(parts, extra: ["stream": true]))
        XCTAssertEqual(scode, 200)
        XCTAssertTrue(streamed.contains("\"chat.completion.chunk\""), streamed)
        XCTAssertTrue(streamed.hasSuffix("data: [DONE]\n\n"), streamed)

        // Local paths: under --media-root only; remote URLs refused by default.
        let local: [[String: Any]] = [["type": "image_url", "image_url": ["url": Self.samples + "/wide.png"]]]
        let localCode = try await request(port, "/v1/chat/completions", body: chat(local)).0
        XCTAssertEqual(localCode, 200)
        for url in ["/etc/hostname", Self.samples + "/../README.md", "http://example.com/a.png"] {
            let (c, t) = try await request(port, "/v1/chat/completions", body: chat([["type": "image_url", "image_url": ["url": url]]]))
            XCTAssertEqual(c, 400, "\(url): \(t)")
            XCTAssertNotNil((try JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any])?["error"])
        }
        // Malformed requests, bad options, the body limit.
        for body in [Data("{not json".utf8), Data("{\"messages\": []}".utf8), chat("hi", extra: ["reducer": "nope", "keep": 4]),
                     chat("hi", extra: ["max_tokens": -3])] {
            let c = try await request(port, "/v1/chat/completions", body: body).0
            XCTAssertEqual(c, 400, String(decoding: body, as: UTF8.self))
        }
        let tooLarge = try await request(port, "/v1/chat/completions", body: Data(repeating: 32, count: 2 << 20)).0
        XCTAssertEqual(tooLarge, 413)

        // A full queue: with --queue 0, requests that arrive while one computes get 429. The tiny
        // model answers in ~60 ms, so a fixed sleep between two requests races it; eight requests
        // sent at once cannot all miss the one that is computing.
        let long = chat(parts, extra: ["max_tokens": 700])
        let codes = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for _ in 0..<8 { group.addTask { try await self.request(port, "/v1/chat/completions", body: long) } }
            var all: [(Int, String)] = []
            for try await reply in group { all.append(reply) }
            return all
        }
        XCTAssertTrue(codes.allSatisfy { $0.0 == 200 || $0.0 == 429 }, "\(codes.map { $0.0 })")
        XCTAssertTrue(codes.contains { $0.0 == 200 }, "\(codes.map { $0.0 })")
        XCTAssertTrue(codes.contains { $0.0 == 429 }, "\(codes.map { $0.0 })")

        let (_, metrics) = try await request(port, "/metrics")
        XCTAssertTrue(metrics.contains("vlm_requests_total{code=\"200\"}"), metrics)
        XCTAssertTrue(metrics.contains("vlm_stage_latency_ms_bucket{stage=\"encode\""), metrics)
        XCTAssertTrue(metrics.contains("vlm_visual_tokens_total{stage=\"after\"}"), metrics)
    }

    /// Resident memory of a process in bytes (Linux /proc).
    func rss(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    /// A bounded load run: 200 requests with an image, 8 at a time, each bounded in time: no
    /// failures, and resident memory at the end within 10% of what it was after 20 requests.
    func testLoadRunKeepsMemoryFlat() async throws {
        let (p, port) = try await startVLMServer(["--model", Self.model, "--queue", "8", "--max-tokens", "16", "--timeout", "60"], portOffset: 7919)
        defer { p.terminate(); p.waitUntilExit() }
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/shapes.png")).base64EncodedString()
        let body = chat([["type": "text", "text": "Describe."], ["type": "image_url", "image_url": ["url": "data:image/png;base64," + png]]])
        for _ in 0..<20 { _ = try await request(port, "/v1/chat/completions", body: body) }
        let early = rss(p.processIdentifier)
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var failed = 0
                    for _ in 0..<25 {
                        let (code, _) = try await self.request(port, "/v1/chat/completions", body: body)
                        if code != 200 { failed += 1 }
                    }
                    return failed
                }
            }
            return try await group.reduce(0, +)
        }
        XCTAssertEqual(failures, 0)
        let late = rss(p.processIdentifier)
        XCTAssertGreaterThan(early, 0)
        XCTAssertLessThanOrEqual(Double(late), Double(early) * 1.1, "RSS grew from \(early) to \(late) bytes")
        print("serve load run: 200 requests, 8 concurrent, RSS \(early / 1_048_576) MB after 20 -> \(late / 1_048_576) MB at the end")
    }
}
