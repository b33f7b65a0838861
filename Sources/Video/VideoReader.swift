import CFFmpeg
import Foundation
import VLMRuntime

/// Decodes sampled frames of a video with libavformat/libavcodec, converting each straight to
/// RGB at the requested size with libswscale (scaled once, in FFmpeg), rotation metadata
/// applied. Timestamps come from the stream (variable frame rates are fine).
///
/// For `.count(N)` on a long video the reader seeks to the keyframe before each wanted frame
/// when that frame is far ahead, and decodes forward from there, so 32 frames of a 10-minute
/// video decode a few seconds of it, not all of it. Frame indices are then recovered from
/// timestamps (index = round((pts - start) * fps)), which assumes a constant frame rate;
/// `.fps` and `.all` decode sequentially and count frames exactly.
public final class VideoReader {
    public let path: String
    public let info: MediaInfo
    /// Problems that did not stop decoding (corrupt packets skipped), one line each.
    public private(set) var warnings: [String] = []

    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var scaler: OpaquePointer?
    private let streamIndex: Int32
    private let timeBase: Double
    private let startSeconds: Double
    private let frameRate: Double
    /// Largest frame (pixels) decoded before conversion; bounds memory for hostile headers.
    public static let maxPixels = 8192 * 8192

    public init(path: String) throws {
        self.path = path
        info = try MediaProbe.probe(path: path)
        guard info.firstVideoStream != nil else {
            throw VLMError.badInput("\(path): no video stream (\(info.container): \(info.streams.map { "\($0.kind.rawValue) \($0.codec)" }.joined(separator: ", ")))")
        }
        av_log_set_level(AV_LOG_QUIET)
        var fmt: UnsafeMutablePointer<AVFormatContext>? = nil
        guard avformat_open_input(&fmt, path, nil, nil) >= 0, let f = fmt else { throw VLMError.badInput("\(path): cannot open") }
        format = f
        guard avformat_find_stream_info(f, nil) >= 0 else { avformat_close_input(&format); throw VLMError.badInput("\(path): unreadable stream info") }
        let index = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard index >= 0, let stream = f.pointee.streams[Int(index)], let par = stream.pointee.codecpar else {
            avformat_close_input(&format)
            throw VLMError.badInput("\(path): no video stream (\(info.streams.map(\.kind.rawValue).joined(separator: ", ")))")
        }
        let w = Int(par.pointee.width), h = Int(par.pointee.height)
        guard w > 0, h > 0, w * h <= Self.maxPixels else {
            avformat_close_input(&format)
            throw VLMError.badInput("\(path): video frame size \(w)x\(h) is not usable")
        }
        streamIndex = index
        timeBase = av_q2d(stream.pointee.time_base)
        startSeconds = stream.pointee.start_time != Int64.min ? Double(stream.pointee.start_time) * timeBase : 0
        let rate = stream.pointee.avg_frame_rate.den > 0 ? av_q2d(stream.pointee.avg_frame_rate) : av_q2d(stream.pointee.r_frame_rate)
        frameRate = rate.isFinite && rate > 0 ? rate : 25
        guard let decoder = avcodec_find_decoder(par.pointee.codec_id) else {
            let codecName = String(cString: avcodec_get_name(par.pointee.codec_id))   // before `par` is freed with the format
            avformat_close_input(&format)
            throw VLMError.unsupported("\(path): no decoder for \(codecName)")
        }
        codec = avcodec_alloc_context3(decoder)
        guard let c = codec, avcodec_parameters_to_context(c, par) >= 0 else { close(); throw VLMError.runtime("out of memory") }
        c.pointee.thread_count = Int32(max(1, min(4, System.coreCount)))
        guard avcodec_open2(c, decoder, nil) >= 0 else { close(); throw VLMError.badInput("\(path): cannot open the decoder") }
        packet = av_packet_alloc(); frame = av_frame_alloc()
        guard packet != nil, frame != nil else { close(); throw VLMError.runtime("out of memory") }
    }

    deinit { close() }

    private func close() {
        if scaler != nil { sws_freeContext(scaler); scaler = nil }
        av_frame_free(&frame); av_packet_free(&packet)
        avcodec_free_context(&codec)
        if format != nil { avformat_close_input(&format) }
    }

    /// The number of frames: the container's count, else duration x frame rate, else counted
    /// by reading every packet of the stream (no decoding).
    public func frameCount() throws -> Int {
        if let n = info.firstVideoStream?.frameCount, n > 0 { return n }
        if let d = info.duration, d > 0 { return max(1, Int((d * frameRate).rounded())) }
        var n = 0
        guard let f = format, let p = packet else { return 0 }
        while av_read_frame(f, p) >= 0 { if p.pointee.stream_index == streamIndex { n += 1 }; av_packet_unref(p) }
        _ = av_seek_frame(f, streamIndex, 0, AVSEEK_FLAG_BACKWARD)
        avcodec_flush_buffers(codec)
        return n
    }

    /// Decodes the sampled frames in order, calling `body` for each; `body` returns false to
    /// stop early. `size` gives the output (width, height) from the (rotated) source size;
    /// nil keeps the source size.
    /// Long (about 90 lines) on purpose: FFmpeg's send/receive loop with seeking, error
    /// handling and the sampling decision in one place, as FFmpeg's own examples keep it.
    public func read(_ sampling: FrameSampling, size: ((Int, Int) -> (Int, Int))? = nil,
                     _ body: (VideoFrame) throws -> Bool) throws {
        let wanted: [Int]
        switch sampling {
        case .count(let n):
            guard n > 0 else { throw VLMError.usage("--frames must be at least 1") }
            wanted = FrameSampling.uniformIndices(total: try frameCount(), count: n)
        case .fps(let f):
            guard f > 0, f.isFinite else { throw VLMError.usage("--fps must be positive") }
            wanted = []
        case .all: wanted = []
        }
        var next = 0                 // position in `wanted`
        var index = -1               // index of the last decoded frame
        var nextTime = 0.0           // .fps: the next sampling time
        var exactIndices = true      // false once a seek made indices timestamp-derived
        var decodeErrors = 0
        guard let f = format, let c = codec, let p = packet, let fr = frame else { return }

        func emit() throws -> Bool {
            let pts = fr.pointee.best_effort_timestamp != Int64.min ? fr.pointee.best_effort_timestamp : fr.pointee.pts
            let seconds = pts != Int64.min ? Double(pts) * timeBase - startSeconds : Double(index + 1) / frameRate
            index = exactIndices ? index + 1 : Int((seconds * frameRate).rounded())
            switch sampling {
            case .all:
                return try body(VideoFrame(index: index, seconds: seconds, image: try convert(size)))
            case .fps(let rate):
                guard seconds + 1e-6 >= nextTime else { return true }
                while nextTime <= seconds + 1e-6 { nextTime += 1 / rate }
                return try body(VideoFrame(index: index, seconds: seconds, image: try convert(size)))
            case .count:
                while next < wanted.count && wanted[next] < index { next += 1 }   // passed over (corrupt or seek overshoot)
                guard next < wanted.count else { return false }
                if wanted[next] == index {
                    let image = try convert(size)
                    while next < wanted.count && wanted[next] == index {
                        guard try body(VideoFrame(index: index, seconds: seconds, image: image)) else { return false }
                        next += 1
                    }
                }
                return next < wanted.count
            }
        }

        var sentEOF = false
        var seekedFor = -1           // the wanted position a seek was last made for (once each)
        loop: while true {
            // Sparse sampling: jump to the keyframe before the next wanted frame when it is
            // more than two seconds ahead.
            if case .count = sampling, next < wanted.count, seekedFor != next, Double(wanted[next] - index) > 2 * frameRate {
                seekedFor = next
                let target = Double(wanted[next]) / frameRate + startSeconds
                if av_seek_frame(f, streamIndex, Int64(target / timeBase), AVSEEK_FLAG_BACKWARD) >= 0 {
                    avcodec_flush_buffers(c)
                    exactIndices = false
                }
            }
            if !sentEOF {
                let read = av_read_frame(f, p)
                if read < 0 {
                    avcodec_send_packet(c, nil); sentEOF = true
                } else {
                    defer { av_packet_unref(p) }
                    if p.pointee.stream_index != streamIndex { continue }
                    let sent = avcodec_send_packet(c, p)
                    if sent < 0 && sent != vlm_averror_eagain() {
                        decodeErrors += 1
                        if decodeErrors > 1000 { throw VLMError.badInput("\(path): the video stream is corrupt") }
                        continue
                    }
                }
            }
            while true {
                let r = avcodec_receive_frame(c, fr)
                if r == vlm_averror_eagain() { break }
                if r == vlm_averror_eof() { break loop }
                if r < 0 {
                    decodeErrors += 1
                    if decodeErrors > 1000 { throw VLMError.badInput("\(path): the video stream is corrupt") }
                    break
                }
                if fr.pointee.decode_error_flags != 0 || fr.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 { decodeErrors += 1 }
                guard try emit() else { break loop }
            }
            if sentEOF && decodeErrors > 1000 { break }
        }
        if decodeErrors > 0 { warnings.append("\(path): \(decodeErrors) packet(s) could not be decoded and were skipped") }
        if index < 0 { throw VLMError.badInput("\(path): no frame could be decoded") }
    }

    /// All sampled frames (for callers that want them together; prefer `read` or `FrameStream`
    /// for long videos, which keep memory flat).
    public func frames(_ sampling: FrameSampling, size: ((Int, Int) -> (Int, Int))? = nil) throws -> [VideoFrame] {
        var out: [VideoFrame] = []
        try read(sampling, size: size) { out.append($0); return true }
        return out
    }

    /// The current frame as RGB at the requested size, rotated upright.
    private func convert(_ size: ((Int, Int) -> (Int, Int))?) throws -> RGBImage {
        guard let fr = frame else { throw VLMError.runtime("no frame") }
        let w = Int(fr.pointee.width), h = Int(fr.pointee.height)
        guard w > 0, h > 0, w * h <= Self.maxPixels else { throw VLMError.badInput("\(path): frame of \(w)x\(h)") }
        let rotation = info.firstVideoStream?.rotation ?? 0
        let upright = rotation == 90 || rotation == 270 ? (h, w) : (w, h)
        var (ow, oh) = size?(upright.0, upright.1) ?? upright
        if rotation == 90 || rotation == 270 { swap(&ow, &oh) }   // scale before rotating
        guard ow > 0, oh > 0, ow * oh <= Self.maxPixels else { throw VLMError.usage("frame size \(ow)x\(oh)") }
        scaler = sws_getCachedContext(scaler, Int32(w), Int32(h), AVPixelFormat(fr.pointee.format), Int32(ow), Int32(oh),
                                      AV_PIX_FMT_RGB24, SWS_BICUBIC, nil, nil, nil)
        guard let sws = scaler else { throw VLMError.unsupported("\(path): pixel format \(fr.pointee.format)") }
        var pixels = [UInt8](repeating: 0, count: ow * oh * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var strides: [Int32] = [Int32(ow * 3), 0, 0, 0]
            withUnsafePointer(to: &fr.pointee.data) { data in
                withUnsafePointer(to: &fr.pointee.linesize) { lines in
                    data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            _ = sws_scale(sws, src, srcStride, 0, Int32(h), &dst, &strides)
                        }
                    }
                }
            }
        }
        let image = RGBImage(width: ow, height: oh, pixels: pixels)
        switch rotation {
        case 90: return image.oriented(exif: 6)    // clockwise 90
        case 180: return image.oriented(exif: 3)
        case 270: return image.oriented(exif: 8)
        default: return image
        }
    }
}
