import Foundation
import XCTest
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vlm serve`'s options through HTTP: the server's command-line reducer and budget apply to
/// every request, and a request's own fields override them (tiny LLaVA: 64 tokens per image).
final class ServeOptionsTests: XCTestCase {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples").standardized.path

    func request(_ port: Int, _ path: String, body: Data? = nil) async throws -> (Int, [String: Any]) {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        r.timeoutInterval = 60
        if let body { r.httpMethod = "POST"; r.httpBody = body; r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: r)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:])
    }

    func testServerDefaultsAndRequestOverrides() async throws {
        let (p, port) = try await startVLMServer(["--model", vlmFixtures + "/llava", "--reducer", "pool", "--keep", "16", "--max-tokens", "2"],
                                              portOffset: 4211)
        defer { p.terminate(); p.waitUntilExit() }
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/shapes.png")).base64EncodedString()
        let parts: [[String: Any]] = [["type": "text", "text": "What is this?"],
                                      ["type": "image_url", "image_url": ["url": "data:image/png;base64," + png]]]
        func ask(_ extra: [String: Any]) async throws -> (Int, reducer: String?, before: Int?, after: Int?) {
            var body: [String: Any] = ["model": "x", "messages": [["role": "user", "content": parts]]]
            body.merge(extra) { $1 }
            let (code, object) = try await request(port, "/v1/chat/completions", body: try JSONSerialization.data(withJSONObject: body))
            let vlm = object["vlm"] as? [String: Any], tokens = vlm?["tokens"] as? [String: Any]
            return (code, vlm?["reducer"] as? String, tokens?["visual_before"] as? Int, tokens?["visual_after"] as? Int)
        }
        // The server's own --reducer pool --keep 16.
        var r = try await ask([:])
        XCTAssertEqual(r.0, 200); XCTAssertEqual(r.reducer, "pool"); XCTAssertEqual(r.before, 64); XCTAssertEqual(r.after, 16)
        // A request's keep replaces the server's; its reducer replaces the server's and keeps the budget.
        r = try await ask(["keep": 4])
        XCTAssertEqual(r.0, 200); XCTAssertEqual(r.reducer, "pool"); XCTAssertEqual(r.after, 4)
        r = try await ask(["reducer": "divprune"])
        XCTAssertEqual(r.0, 200); XCTAssertEqual(r.reducer, "divprune"); XCTAssertEqual(r.after, 16)
        r = try await ask(["reducer": "random", "keep_ratio": 0.5, "reducer_opt": ["seed=3"]])
        XCTAssertEqual(r.0, 200); XCTAssertEqual(r.reducer, "random"); XCTAssertEqual(r.after, 32)
        // No reduction for this request.
        r = try await ask(["reducer": "none"])
        XCTAssertEqual(r.0, 200); XCTAssertEqual(r.reducer, "none"); XCTAssertEqual(r.after, 64)
        // Invalid combinations are the command line's usage errors, as 400s.
        for extra: [String: Any] in [["keep": 65], ["reducer": "nope"], ["reducer": "dycoke"], ["reducer_opt": ["tau=3"]], ["keep": "many"]] {
            r = try await ask(extra)
            XCTAssertEqual(r.0, 400, "\(extra)")
        }
        // The defaults are untouched by earlier requests.
        r = try await ask([:])
        XCTAssertEqual(r.0, 200); XCTAssertEqual(r.reducer, "pool"); XCTAssertEqual(r.after, 16)
    }
}
