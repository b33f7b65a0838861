import Foundation
import XCTest
import TestSupport
@testable import Vision
import VLMRuntime

/// `vlm batch` over a folder of 200 files, 190 generated images with 10 broken or non-media
/// files mixed in: 190 results and 10 error lines; killed with SIGKILL part-way (and a torn line added, as
/// a crash mid-write leaves) then resumed, every input appears exactly once; two shards run one
/// after the other give the same results as one run.
final class BatchCLITests: XCTestCase {
    static let model = vlmFixtures + "/llava"

    func makeFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-batch-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        for sub in ["a", "b/c"] { try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true) }
        for i in 0..<190 {
            var pixels = [UInt8](repeating: 0, count: 24 * 16 * 3)
            for j in pixels.indices { pixels[j] = UInt8((i * 7 + j * 13) & 0xFF) }
            let png = PNGEncoder.encode(RGBImage(width: 24, height: 16, pixels: pixels))
            // Names without extensions for some: the type comes from the content.
            let name = (i % 3 == 0 ? "a/" : i % 3 == 1 ? "b/c/" : "") + "img\(i)" + (i % 5 == 0 ? "" : ".png")
            try Data(png).write(to: dir.appendingPathComponent(name))
        }
        let png = PNGEncoder.encode(RGBImage(width: 24, height: 16, pixels: [UInt8](repeating: 9, count: 24 * 16 * 3)))
        let bad: [(String, Data)] = [
            ("notes.txt", Data("hello".utf8)), ("empty.png", Data()), ("a/cut.png", Data(png.prefix(40))),
            ("b/garbage.jpg", Data([0xFF, 0xD8, 0xFF] + [UInt8](repeating: 0x11, count: 100))), ("b/c/data.bin", Data((0..<500).map { UInt8($0 & 0xFF) })),
            ("fake.mp4", Data("not a video at all".utf8)), ("a/half.png", Data(png.prefix(png.count / 2))), ("zero", Data()),
            ("b/c/notes.md", Data("# title\n".utf8)), ("script.sh", Data("#!/bin/sh\necho\n".utf8)),
        ]
        for (name, data) in bad { try data.write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    func lines(_ path: String) -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
    }

    func testBatchResumeAndShards() throws {
        let dir = try makeFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.path + "-results.jsonl"   // beside the folder, not in it
        defer { try? FileManager.default.removeItem(atPath: out) }
        let args = ["batch", dir.path, "--model", Self.model, "--prompt", "What is this?", "--max-tokens", "48"]

        // One full run.
        let full = dir.path + "-full.jsonl"
        defer { try? FileManager.default.removeItem(atPath: full) }
        let r = try runVLM(args + ["--out", full])
        XCTAssertEqual(r.code, 0, r.stderr)
        let all = lines(full)
        XCTAssertEqual(all.count, 200)
        XCTAssertEqual(all.filter { $0["error"] is NSNull }.count, 190)
        XCTAssertEqual(all.filter { !($0["error"] is NSNull) }.count, 10)

        // Killed part-way, a torn line appended, resumed.
        let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent("vlm")
        let p = Process(); p.executableURL = bin; p.arguments = args + ["--out", out]
        p.standardOutput = Pipe(); p.standardError = Pipe()
        try p.run()
        let deadline = Date().addingTimeInterval(30)
        while lines(out).count < 60 && p.isRunning && Date() < deadline { usleep(500) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let partial = lines(out).count
        XCTAssertLessThan(partial, 200, "the run must be killed part-way for the resume check to mean anything")
        print("batch killed after \(partial) of 200 lines")
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: out))
        try handle.seekToEnd(); try handle.write(contentsOf: Data("{\"input\":\"torn".utf8)); try handle.close()
        let resumed = try runVLM(args + ["--out", out, "--resume"])
        XCTAssertEqual(resumed.code, 0, resumed.stderr)
        let final = lines(out)
        XCTAssertEqual(final.count, 200, "killed after \(partial) lines")
        XCTAssertEqual(Set(final.compactMap { $0["input"] as? String }).count, 200)
        XCTAssertEqual(final.filter { !($0["error"] is NSNull) }.count, 10)

        // Two shards, one after the other: the same results as the single run.
        var union: [String: String] = [:]
        for s in 0..<2 {
            let shard = dir.path + "-shard\(s).jsonl"
            defer { try? FileManager.default.removeItem(atPath: shard) }
            XCTAssertEqual(try runVLM(args + ["--out", shard, "--shard", "\(s)/2"]).code, 0)
            for l in lines(shard) { union[l["input"] as! String] = l["text"] as? String }
        }
        let single = Dictionary(uniqueKeysWithValues: all.map { ($0["input"] as! String, $0["text"] as? String) })
        XCTAssertEqual(union.count, 200)
        XCTAssertEqual(Set(union.keys), Set(single.keys))
        XCTAssertEqual(union.filter { single[$0.key] != $0.value }.count, 0, "inputs whose text differs between the shard runs and the single run")
    }
}
