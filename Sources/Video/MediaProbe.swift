import CFFmpeg
import VLMRuntime

/// What a media file holds, read by libavformat: container, duration and streams.
public struct MediaInfo: Sendable {
    public struct Stream: Sendable {
        public enum Kind: String, Sendable { case video, audio, other }
        public let index: Int
        public let kind: Kind
        public let codec: String
        public let width: Int
        public let height: Int
        /// Average frame rate, when the container states one.
        public let frameRate: Double?
        /// Frame count as the container states it (nil when unknown).
        public let frameCount: Int?
        /// Clockwise rotation in degrees from the display matrix (0, 90, 180, 270).
        public let rotation: Int
    }
    public let container: String
    public let duration: Double?
    public let streams: [Stream]

    /// The first real video stream. FFmpeg's text-art demuxers (tty: ANSI, BIN, XBIN, IDF)
    /// open any text file as a "video" of rendered characters; those do not count.
    /// Still-image demuxers (image2 by extension, *_pipe by content) are not videos either:
    /// images are read by Vision's decoders, and one that reaches here failed them.
    public var firstVideoStream: Stream? {
        guard !Self.textArtContainers.contains(container), container != "image2", !container.hasSuffix("_pipe") else { return nil }
        return streams.first { $0.kind == .video && !Self.textArtCodecs.contains($0.codec) }
    }
    static let textArtContainers: Set<String> = ["tty", "bin", "xbin", "idf", "adp"]
    static let textArtCodecs: Set<String> = ["ansi", "bintext", "xbin", "idf"]
}

public enum MediaProbe {
    /// Opens `path` with libavformat and reads its stream parameters (no frames are decoded
    /// beyond what stream-info detection needs).
    public static func probe(path: String) throws -> MediaInfo {
        FFmpegLog.quiet()
        var context: UnsafeMutablePointer<AVFormatContext>? = nil
        var status = avformat_open_input(&context, path, nil, nil)
        guard status >= 0, let ctx = context else { throw VLMError.badInput("\(path): \(FFmpegLog.describe(status))") }
        defer { avformat_close_input(&context) }
        status = avformat_find_stream_info(ctx, nil)
        guard status >= 0 else { throw VLMError.badInput("\(path): \(FFmpegLog.describe(status))") }

        var streams: [MediaInfo.Stream] = []
        for i in 0..<Int(ctx.pointee.nb_streams) {
            guard let s = ctx.pointee.streams[i], let par = s.pointee.codecpar else { continue }
            let kind: MediaInfo.Stream.Kind
            switch par.pointee.codec_type {
            case AVMEDIA_TYPE_VIDEO: kind = .video
            case AVMEDIA_TYPE_AUDIO: kind = .audio
            default: kind = .other
            }
            let rate = s.pointee.avg_frame_rate
            let fps: Double? = rate.den > 0 && rate.num > 0 ? Double(rate.num) / Double(rate.den) : nil
            let frames = s.pointee.nb_frames > 0 ? Int(s.pointee.nb_frames) : nil
            streams.append(.init(index: i, kind: kind, codec: String(cString: avcodec_get_name(par.pointee.codec_id)),
                                 width: Int(par.pointee.width), height: Int(par.pointee.height),
                                 frameRate: fps, frameCount: frames, rotation: rotation(of: s)))
        }
        let duration: Double? = ctx.pointee.duration > 0 ? Double(ctx.pointee.duration) / Double(AV_TIME_BASE) : nil
        let container = ctx.pointee.iformat.map { String(cString: $0.pointee.name) } ?? "unknown"
        return MediaInfo(container: container, duration: duration, streams: streams)
    }

    /// Rotation from the stream's display-matrix side data (phones record portrait video this way).
    /// (The C helper reads it through whichever side-data API this FFmpeg version has.)
    static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        guard let matrix = vlm_stream_display_matrix(stream) else { return 0 }
        let angle = av_display_rotation_get(matrix)
        guard angle.isFinite else { return 0 }
        // av_display_rotation_get is counter-clockwise; report clockwise degrees in [0, 360).
        let clockwise = Int((-angle).rounded())
        return ((clockwise % 360) + 360) % 360
    }
}

/// FFmpeg's logging and error strings.
enum FFmpegLog {
    /// FFmpeg prints warnings to stderr by default; vlm reports errors itself.
    static func quiet() { av_log_set_level(AV_LOG_QUIET) }

    static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buffer, buffer.count)
        return String(cString: buffer)
    }
}
