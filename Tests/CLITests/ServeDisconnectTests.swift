import Foundation
import XCTest
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A client that disconnects in the middle of a streamed answer stops its generation (issue 21):
/// on the default model (SmolLM2 behind it, ~80 tokens/s here) a 4,000-token answer would hold
/// the one compute slot for most of a minute; after the client goes away, the next request is
/// answered within seconds instead of being told the server is busy.
final class ServeDisconnectTests: XCTestCase {
    func testDisconnectStopsGeneration() async throws {
        let model = try installedModel("shapes-vlm")
        let (p, port) = try await startVLMServer(["--model", model, "--queue", "0"], portOffset: 6197)
        defer { p.terminate(); p.waitUntilExit() }
        func request(_ body: [String: Any]) throws -> URLRequest {
            var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
            r.httpMethod = "POST"
            r.httpBody = try JSONSerialization.data(withJSONObject: body)
            r.timeoutInterval = 120
            return r
        }
        let long = try request(["stream": true, "max_tokens": 4000, "temperature": 1.0, "seed": 3,
                                "messages": [["role": "user", "content": "Write a very long story about the sea."]]])
        // Read the stream until a few chunks have come, then drop the connection.
        let reader = StreamReader(wanted: 5)
        let session = URLSession(configuration: .default, delegate: reader, delegateQueue: nil)
        let task = session.dataTask(with: long)
        task.resume()
        XCTAssertEqual(reader.enough.wait(timeout: .now() + 60), .success, "no streamed chunks came")
        task.cancel()
        session.invalidateAndCancel()
        let dropped = Date()

        // The slot must come free soon: poll with one-token requests (429 while it is busy).
        let short = try request(["max_tokens": 1, "messages": [["role": "user", "content": "Hi"]]])
        var code = 0
        while Date().timeIntervalSince(dropped) < 20 {
            let (_, response) = try await URLSession.shared.data(for: short)
            code = (response as? HTTPURLResponse)?.statusCode ?? 0
            if code == 200 { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        XCTAssertEqual(code, 200, "the server stayed busy after the client left")
        XCTAssertLessThan(Date().timeIntervalSince(dropped), 10, "generation went on after the client left")
    }
}

/// Counts server-sent `data:` events as they arrive and signals when `wanted` have come.
private final class StreamReader: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let wanted: Int
    let enough = DispatchSemaphore(value: 0)
    private var events = 0
    private let lock = NSLock()
    init(wanted: Int) { self.wanted = wanted }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock(); defer { lock.unlock() }
        let before = events
        events += String(decoding: data, as: UTF8.self).components(separatedBy: "data: ").count - 1
        if before < wanted && events >= wanted { enough.signal() }
    }
}
