import Foundation
import XCTest
import TestSupport

/// One writer per batch output (issue 21): while another process holds the output file's lock,
/// `vlm batch` refuses with exit 1 and one line and leaves the file as it was; the lock of a
/// process killed with SIGKILL is gone with it, so `--resume` then runs.
final class BatchLockTests: XCTestCase {
    func testSecondWriterIsRefusedAndAStaleLockIsNot() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-lock-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("in"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples/shapes.png").standardized
        for i in 0..<2 { try FileManager.default.copyItem(at: sample, to: dir.appendingPathComponent("in/img\(i).png")) }
        let out = dir.appendingPathComponent("out.jsonl").path
        try Data("{\"input\": \"kept\"}\n".utf8).write(to: URL(fileURLWithPath: out))
        let args = ["batch", dir.appendingPathComponent("in").path, "--model", vlmFixtures + "/llava", "--prompt", "What?",
                    "--max-tokens", "2", "--out", out, "--resume"]

        // Another live writer: util-linux's flock(1) holds the same kind of lock.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = ["--exclusive", "--no-fork", out, "sleep", "60"]   // no child to keep the lock
        try holder.run()
        Thread.sleep(forTimeInterval: 0.3)
        let refused = try runVLM(args)
        XCTAssertEqual(refused.code, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("another running vlm batch"), refused.stderr)
        XCTAssertEqual(refused.stderr.split(separator: "\n").count, 1, refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "{\"input\": \"kept\"}\n", "the refused run touched nothing")

        // The holder dies by SIGKILL: its lock is released by the kernel, and the batch runs.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        let resumed = try runVLM(args)
        XCTAssertEqual(resumed.code, 0, resumed.stderr)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").count, 3)
    }
}
