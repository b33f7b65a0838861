import XCTest
import Foundation
import VLMRuntime
@testable import Video

/// FFmpeg (libavformat) opening the sample clip made by scripts/make_samples.sh:
/// lavfi testsrc2, 160x120, 10 fps, 2 s, H.264 in MP4.
final class MediaProbeTests: XCTestCase {
    static let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Samples").standardized.path

    func testProbeReportsTheClipsStream() throws {
        let info = try MediaProbe.probe(path: Self.samples + "/clip.mp4")
        XCTAssertTrue(info.container.contains("mp4"), info.container)
        let v = try XCTUnwrap(info.firstVideoStream)
        XCTAssertEqual(v.codec, "h264")
        XCTAssertEqual(v.width, 160); XCTAssertEqual(v.height, 120)
        XCTAssertEqual(try XCTUnwrap(v.frameRate), 10, accuracy: 0.01)
        XCTAssertEqual(v.frameCount, 20)
        XCTAssertEqual(try XCTUnwrap(info.duration), 2.0, accuracy: 0.05)
        XCTAssertEqual(v.rotation, 0)
    }

    /// rotated.mp4's track header says "display 90 degrees clockwise" (a phone's portrait video);
    /// the stream's own size stays as encoded.
    func testRotationComesFromTheDisplayMatrix() throws {
        let info = try MediaProbe.probe(path: Self.samples + "/rotated.mp4")
        let v = try XCTUnwrap(info.firstVideoStream)
        XCTAssertEqual(v.rotation, 90)
        XCTAssertEqual(v.width, 64); XCTAssertEqual(v.height, 48)
        XCTAssertEqual(v.frameCount, 3)
    }

    func testNonMediaAndTruncatedFilesAreBadInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-probe-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("notes.mp4")
        try Data("this is not a video\n".utf8).write(to: text)
        let clip = try Data(contentsOf: URL(fileURLWithPath: Self.samples + "/clip.mp4"))
        let truncated = dir.appendingPathComponent("cut.mp4")
        try clip.prefix(64).write(to: truncated)
        for path in [text.path, truncated.path, dir.path + "/missing.mp4"] {
            XCTAssertThrowsError(try MediaProbe.probe(path: path)) { e in
                XCTAssertEqual((e as? VLMError)?.exitCode, 3, "\(path): \(e)")
            }
        }
    }
}
