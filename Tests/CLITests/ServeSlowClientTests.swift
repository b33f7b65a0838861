import Foundation
import XCTest
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vlm serve` against abusive clients over a raw TCP socket (URLSession cannot misbehave):
/// a client that dribbles its headers one byte every 300 ms is cut off after `--idle-timeout`;
/// a body announced over `--max-body-mb` gets 413 at once, before the body is sent, and the
/// connection closes (the rest is never read); the server then still answers.
final class ServeSlowClientTests: XCTestCase {
    static let model = vlmFixtures + "/llava_onevision"

    /// A blocking TCP connection to 127.0.0.1:`port` with a receive timeout of `seconds`.
    func connect(_ port: Int, receiveTimeout seconds: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard ok == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return fd
    }

    /// Sends all of `bytes`; false once the peer has closed the connection.
    func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count
    }

    /// What the server sends until it closes or the receive timeout passes; `closed` says which.
    func receiveAll(_ fd: Int32) -> (text: String, closed: Bool) {
        var data = [UInt8](), buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 { data += buffer[0..<n]; continue }
            return (String(decoding: data, as: UTF8.self), n == 0)
        }
    }

    func testSlowHeadersAreCutOffAndBigBodiesRefusedUnread() async throws {
        let (p, port) = try await startVLMServer(["--model", Self.model, "--idle-timeout", "2", "--max-body-mb", "1", "--max-tokens", "4"],
                                                 portOffset: 7411)
        defer { p.terminate(); p.waitUntilExit() }

        // Headers one byte every 300 ms (a full head would take 20+ s): closed after about 2 s.
        let slow = try connect(port, receiveTimeout: 1)
        defer { close(slow) }
        let head = Array("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n".utf8)
        let start = Date()
        var cutAfter: TimeInterval?
        for byte in head {
            if !send(slow, [byte]) { cutAfter = Date().timeIntervalSince(start); break }
            var probe = [UInt8](repeating: 0, count: 16)
            if recv(slow, &probe, probe.count, Int32(MSG_DONTWAIT)) == 0 { cutAfter = Date().timeIntervalSince(start); break }
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        let cut = try XCTUnwrap(cutAfter, "a client dribbling its headers was never cut off")
        XCTAssertGreaterThan(cut, 1.5); XCTAssertLessThan(cut, 6, "cut off after \(cut) s with --idle-timeout 2")

        // A 10 GiB body announced: 413 before a byte of it is sent, then the connection closes.
        let big = try connect(port, receiveTimeout: 5)
        defer { close(big) }
        let t0 = Date()
        XCTAssertTrue(send(big, Array("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 10737418240\r\n\r\n".utf8)))
        XCTAssertTrue(send(big, Array("{\"messages\":".utf8)))
        let (answer, closed) = receiveAll(big)
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 413"), answer)
        XCTAssertTrue(answer.contains("over 1 MiB"), answer)
        XCTAssertTrue(closed, "the connection stayed open after the 413")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3)

        // A body without Content-Length (chunked) that passes the limit: 413 as well.
        let chunked = try connect(port, receiveTimeout: 5)
        defer { close(chunked) }
        XCTAssertTrue(send(chunked, Array("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)))
        let piece = [UInt8](repeating: 0x20, count: 256 << 10)
        for _ in 0..<6 where send(chunked, Array("40000\r\n".utf8)) && send(chunked, piece) && send(chunked, Array("\r\n".utf8)) {}
        let (chunkedAnswer, _) = receiveAll(chunked)
        XCTAssertTrue(chunkedAnswer.hasPrefix("HTTP/1.1 413"), chunkedAnswer)

        // The server still answers.
        var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/health")!)
        r.timeoutInterval = 10
        let (_, response) = try await URLSession.shared.data(for: r)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200)
    }
}
