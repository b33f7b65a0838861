import ArgumentParser
import Foundation
import Video
import Vision
import VLMRuntime

/// `vlm probe MEDIA [--json]`: container, streams, duration, frame count, frame rate, rotation.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "probe", abstract: "Describe a media file's container and streams.")

    @Argument(help: "A video (or any media) file.") var media: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try CommandRunner.run(json: false) {
            let info = try MediaProbe.probe(path: media)
            guard let video = info.firstVideoStream else { throw VLMError.badInput("\(media): no video stream") }
            let frames = try VideoReader(path: media).frameCount()
            if json {
                let streams: [[String: Any]] = info.streams.map { s in
                    var d: [String: Any] = ["index": s.index, "kind": s.kind.rawValue, "codec": s.codec]
                    if s.kind == .video {
                        d["width"] = s.width; d["height"] = s.height; d["rotation"] = s.rotation
                        if let r = s.frameRate { d["fps"] = r }
                        if let n = s.frameCount { d["frames"] = n }
                    }
                    return d
                }
                var object: [String: Any] = ["input": media, "container": info.container, "streams": streams,
                                             "frames": frames, "rotation": video.rotation, "width": video.width, "height": video.height]
                object["duration"] = info.duration
                object["fps"] = video.frameRate
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                Output.write(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                Output.write("\(media): \(info.container), \(String(format: "%.2f", info.duration ?? 0)) s\n")
                for s in info.streams {
                    Output.write("  #\(s.index) \(s.kind.rawValue) \(s.codec)"
                                 + (s.kind == .video ? " \(s.width)x\(s.height) \(String(format: "%.3f", s.frameRate ?? 0)) fps, \(frames) frames, rotation \(s.rotation)" : "") + "\n")
                }
            }
        }
    }
}

/// `vlm frames VIDEO --frames N | --fps F [--out DIR] [--json]`: samples and decodes frames
/// (what `describe` on a video will feed the encoder), optionally writing them as PNGs, and
/// reports the time taken and the peak memory.
struct FramesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "frames", abstract: "Sample and decode video frames.")

    @Argument(help: "A video file.") var media: String
    @Option(help: "Frames spread uniformly over the video.") var frames: Int?
    @Option(help: "Frames per second of presentation time.") var fps: Double?
    @Option(help: "Longest side of the output frames (default: the video's size).") var maxSide: Int?
    @Option(help: "Write the frames as PNGs into this directory.") var out: String?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if (frames == nil) == (fps == nil) { throw ValidationError("give --frames N or --fps F") }
        if let frames, frames < 1 || frames > 100_000 { throw ValidationError("--frames must be between 1 and 100000") }
        if let fps, !(fps > 0 && fps <= 1000) { throw ValidationError("--fps must be in (0, 1000]") }
        if let maxSide, maxSide < 1 || maxSide > 8192 { throw ValidationError("--max-side must be between 1 and 8192") }
    }

    func run() throws {
        try CommandRunner.run(json: json, input: media) {
            let start = ProcessStats.now
            let reader = try VideoReader(path: media)
            let sampling: FrameSampling = frames.map { .count($0) } ?? .fps(fps!)
            let limit = maxSide
            let size: ((Int, Int) -> (Int, Int))? = limit.map { m in
                { w, h in let s = min(1, Double(m) / Double(max(w, h))); return (max(1, Int(Double(w) * s)), max(1, Int(Double(h) * s))) }
            }
            if let out { try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true) }
            var indices: [Int] = []
            try reader.read(sampling, size: size) { frame in
                indices.append(frame.index)
                if let out {
                    let png = Data(PNGEncoder.encode(frame.image))
                    guard FileManager.default.createFile(atPath: out + "/frame-\(String(format: "%06d", frame.index)).png", contents: png) else {
                        throw VLMError.runtime("cannot write into \(out)")
                    }
                }
                return true
            }
            for w in reader.warnings { Log.warn(w) }
            let seconds = ProcessStats.now - start
            if json {
                let object: [String: Any] = ["input": media, "frames": indices.count, "indices": indices, "seconds": seconds,
                                             "peak_rss_bytes": ProcessStats.peakRSSBytes, "warnings": reader.warnings]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                Output.write(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                Output.write("\(indices.count) frames in \(String(format: "%.2f", seconds)) s: \(indices.map(String.init).joined(separator: " "))\n")
            }
        }
    }
}
