import Foundation
import XCTest
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Media paths a client sends to `vlm serve` (issue 21): only files that resolve inside
/// `--media-root` are read. Symlinks pointing out, `..`, absolute paths, file: URLs elsewhere
/// and percent-encoded tricks are refused with 400 and an error body; a full queue's 429
/// carries Retry-After.
final class ServeMediaRootTests: XCTestCase {
    func post(_ port: Int, _ body: [String: Any]) async throws -> (code: Int, text: String, retryAfter: String?) {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
        r.httpMethod = "POST"
        r.httpBody = try JSONSerialization.data(withJSONObject: body)
        r.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: r)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, String(decoding: data, as: UTF8.self), http?.value(forHTTPHeaderField: "Retry-After"))
    }

    func image(_ url: String, maxTokens: Int = 1) -> [String: Any] {
        ["max_tokens": maxTokens, "messages": [["role": "user", "content": [["type": "image_url", "image_url": ["url": url]]]]]]
    }

    func testOnlyFilesInsideTheRootAreRead() async throws {
        let fm = FileManager.default
        let root = fm.temporaryDirectory.appendingPathComponent("vlm-root-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try fm.createDirectory(at: root.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: root) }
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples/shapes.png").standardized
        try fm.copyItem(at: sample, to: root.appendingPathComponent("sub/ok.png"))
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("inside.png").path, withDestinationPath: "sub/ok.png")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("out.png").path, withDestinationPath: sample.path)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc").path, withDestinationPath: "/etc")

        let (p, port) = try await startVLMServer(["--model", vlmFixtures + "/llava_onevision", "--media-root", root.path, "--queue", "0"],
                                                 portOffset: 6173)
        defer { p.terminate(); p.waitUntilExit() }
        for ok in ["sub/ok.png", "inside.png", "sub/../sub/ok.png", "file://" + root.path + "/sub/ok.png"] {
            let r = try await post(port, image(ok))
            XCTAssertEqual(r.code, 200, "\(ok): \(r.text)")
        }
        for bad in ["out.png", "etc/hostname", "../" + root.lastPathComponent + "/../../etc/hostname", "/etc/hostname",
                    "file:///etc/hostname", "%2e%2e/%2e%2e/etc/hostname", "sub/%2e%2e/out.png", "..%2f..%2fetc/hostname",
                    "sub/missing.png", "http://127.0.0.1:1/x.png", "ftp://x/y.png"] {
            let r = try await post(port, image(bad))
            XCTAssertEqual(r.code, 400, "\(bad): \(r.text)")
            XCTAssertNotNil((try? JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any])?["error"], bad)
        }

        // With --queue 0 the requests that arrive while one computes get 429 with Retry-After.
        let replies = try await withThrowingTaskGroup(of: (code: Int, text: String, retryAfter: String?).self) { group in
            for _ in 0..<8 { group.addTask { try await self.post(port, self.image("sub/ok.png", maxTokens: 700)) } }
            var all: [(code: Int, text: String, retryAfter: String?)] = []
            for try await reply in group { all.append(reply) }
            return all
        }
        let busy = replies.filter { $0.code == 429 }
        XCTAssertFalse(busy.isEmpty, "\(replies.map(\.code))")
        XCTAssertTrue(busy.allSatisfy { $0.retryAfter == "1" }, "\(busy.map { $0.retryAfter ?? "none" })")
    }
}
