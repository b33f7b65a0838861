import Foundation
import XCTest
import VLMRuntime
@testable import Video

/// Frame sampling and decoding on tiny videos whose frames are solid colours computed from their
/// index (tools/make_video_fixtures.sh), in MP4/H.264, WebM/VP9 and AVI/MJPEG.
final class VideoReaderTests: XCTestCase {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path
    static let formats = ["colors.mp4", "colors.webm", "colors.avi"]

    func colour(_ n: Int) -> [Int] { [(n * 37) % 256, (n * 91) % 256, (n * 13 + 50) % 256] }

    func meanColour(_ image: RGBImage) -> [Int] {
        var s = [0, 0, 0]
        for i in 0..<(image.width * image.height) { for c in 0..<3 { s[c] += Int(image.pixels[i * 3 + c]) } }
        return s.map { $0 / (image.width * image.height) }
    }

    /// ffmpeg's own decode of frame `index` as RGB24, or nil when the CLI is not installed.
    func ffmpegFrame(_ path: String, _ index: Int) throws -> [UInt8]? {
        guard let ffmpeg = ["/usr/bin/ffmpeg", "/usr/local/bin/ffmpeg"].first(where: FileManager.default.isExecutableFile) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: ffmpeg)
        p.arguments = ["-hide_banner", "-loglevel", "error", "-i", path, "-vf", "select=eq(n\\,\(index))", "-vsync", "0",
                       "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
        let out = Pipe(); p.standardOutput = out; p.standardError = Pipe()
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return [UInt8](data)
    }

    func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
        let mse = zip(a, b).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) } / Double(max(1, a.count))
        return mse == 0 ? 99 : 10 * log10(255 * 255 / mse)
    }

    func testSampledFramesAreTheExpectedOnesAndMatchFFmpeg() throws {
        for name in Self.formats {
            let path = Self.dir + "/" + name
            let reader = try VideoReader(path: path)
            XCTAssertEqual(try reader.frameCount(), 30, name)
            for (sampling, expected) in [(FrameSampling.count(8), [0, 4, 8, 12, 16, 20, 24, 29]), (.fps(1), [0, 10, 20])] {
                let frames = try VideoReader(path: path).frames(sampling)
                XCTAssertEqual(frames.map(\.index), expected, "\(name) \(sampling)")
                for f in frames {
                    XCTAssertEqual([f.image.width, f.image.height], [64, 48])
                    XCTAssertEqual(f.seconds, Double(f.index) / 10, accuracy: 0.01, "\(name) frame \(f.index)")
                    let mean = meanColour(f.image), want = colour(f.index)
                    XCTAssertTrue(zip(mean, want).allSatisfy { abs($0 - $1) <= 6 }, "\(name) frame \(f.index): \(mean) vs \(want)")
                    if let reference = try ffmpegFrame(path, f.index) {
                        XCTAssertEqual(reference.count, f.image.pixels.count)
                        XCTAssertGreaterThanOrEqual(psnr(reference, f.image.pixels), 45, "\(name) frame \(f.index) vs ffmpeg")
                    }
                }
            }
        }
    }

    func testUniformIndicesFollowNumpyLinspaceTruncated() {
        XCTAssertEqual(FrameSampling.uniformIndices(total: 20, count: 8), [0, 2, 5, 8, 10, 13, 16, 19])
        XCTAssertEqual(FrameSampling.uniformIndices(total: 5, count: 8), [0, 0, 1, 1, 2, 2, 3, 4])
        XCTAssertEqual(FrameSampling.uniformIndices(total: 100, count: 1), [0])
    }

    func testStreamDeliversInOrderAndStopsWhenTheConsumerStops() async throws {
        var seen: [Int] = []
        for try await frame in FrameStream(path: Self.dir + "/colors.avi", sampling: .all, capacity: 2) { seen.append(frame.index) }
        XCTAssertEqual(seen, Array(0..<30))
        var first: [Int] = []
        for try await frame in FrameStream(path: Self.dir + "/colors.mp4", sampling: .all, capacity: 1) {
            first.append(frame.index)
            if first.count == 3 { break }
        }
        XCTAssertEqual(first, [0, 1, 2])
    }

    func testRotationIsApplied() throws {
        let frames = try VideoReader(path: Self.dir + "/../../../Samples/rotated.mp4").frames(.count(1))
        XCTAssertEqual([frames[0].image.width, frames[0].image.height], [48, 64])
    }

    func testCorruptTailStillYieldsTheEarlyFramesWithAWarning() throws {
        let reader = try VideoReader(path: Self.dir + "/corrupt-tail.mp4")
        let frames = try reader.frames(.all)
        XCTAssertGreaterThan(frames.count, 5)
        XCTAssertEqual(Array(frames.prefix(5).map(\.index)), [0, 1, 2, 3, 4])
        XCTAssertEqual(reader.warnings.count, 1)
    }

    /// A stream whose codec FFmpeg has no decoder for is refused with the codec's name. Found
    /// by fuzz/FuzzVideo: the name was read from the stream's parameters after closing the
    /// file had freed them (a use after free AddressSanitizer reports; here, a wrong name).
    func testAStreamWithoutADecoderIsUnsupportedAndNamed() {
        XCTAssertThrowsError(try VideoReader(path: Self.dir + "/fuzz-unknown-codec.webm")) { error in
            guard case VLMError.unsupported(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.hasSuffix("no decoder for none"), m)
        }
    }

    func testBrokenFilesAreBadInputWithOneLine() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-video-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let mp4 = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/colors.mp4"))
        var garbage = try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/colors.webm"))
        for i in stride(from: 200, to: garbage.count, by: 1) { garbage[i] = UInt8((i * 131) & 0xFF) }
        let files: [(String, Data)] = [("zero.mp4", Data()), ("truncated.mp4", mp4.prefix(mp4.count / 3)),
                                       ("garbage-payload.webm", garbage), ("notes.mp4", Data("not a video\n".utf8))]
        var paths = files.map { tmp.appendingPathComponent($0.0).path }
        for (path, (_, data)) in zip(paths, files) { try data.write(to: URL(fileURLWithPath: path)) }
        paths.append(Self.dir + "/audio.m4a")
        for path in paths {
            XCTAssertThrowsError(try VideoReader(path: path).frames(.count(4))) { error in
                guard case VLMError.badInput(let m) = error else { return XCTFail("\(path): \(error)") }
                XCTAssertFalse(m.contains("\n"), m)
            }
            let bin = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent().appendingPathComponent("vlm")
            guard FileManager.default.isExecutableFile(atPath: bin.path) else { continue }
            for args in [["probe", path], ["frames", path, "--frames", "4"]] {
                let p = Process(); p.executableURL = bin; p.arguments = args
                let err = Pipe(); p.standardError = err; p.standardOutput = Pipe()
                try p.run()
                let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                p.waitUntilExit()
                XCTAssertEqual(p.terminationStatus, 3, "\(args): \(text)")
                XCTAssertEqual(text.split(separator: "\n").count, 1, "\(args): \(text)")
            }
        }
    }
}
