import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Starts `vlm serve ARGUMENTS` on a port derived from the process id and `portOffset` and
/// waits (up to 10 s) until /health answers 200. The caller terminates the process.
public func startVLMServer(_ arguments: [String], portOffset: Int32) async throws -> (process: Process, port: Int) {
    let port = 20000 + Int((getpid() + portOffset) % 20000)
    let p = Process()
    p.executableURL = try vlmBinary()
    p.arguments = ["serve", "--port", String(port)] + arguments
    p.standardError = Pipe(); p.standardOutput = Pipe()
    try p.run()
    for _ in 0..<200 {
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health")!)
        r.timeoutInterval = 5
        if let (_, response) = try? await URLSession.shared.data(for: r), (response as? HTTPURLResponse)?.statusCode == 200 {
            return (p, port)
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    p.terminate()
    XCTFail("vlm serve did not start")
    throw CocoaError(.fileReadUnknown)
}

/// POSTs `body` as JSON to `vlm serve`'s /v1/chat/completions on `port`; the status and body.
public func postChatCompletion(port: Int, _ body: [String: Any], timeout: TimeInterval = 60) async throws -> (status: Int, data: Data) {
    var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
    r.httpMethod = "POST"
    r.httpBody = try JSONSerialization.data(withJSONObject: body)
    r.timeoutInterval = timeout
    let (data, response) = try await URLSession.shared.data(for: r)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
}
