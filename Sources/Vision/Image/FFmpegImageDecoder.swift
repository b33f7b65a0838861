import CFFmpeg
import Foundation
import VLMRuntime

/// Still images in formats without a dedicated decoder here (WebP, BMP, GIF's first frame,
/// TIFF), decoded through libavformat/libavcodec and converted to RGB24 by libswscale. The
/// pixel limit is checked on the stream's header size before any frame is decoded, and again
/// on the decoded frame.
public enum FFmpegImageDecoder {
    public static func decode(path: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        av_log_set_level(AV_LOG_QUIET)
        func fail(_ code: Int32) -> VLMError {
            var buffer = [CChar](repeating: 0, count: 256)
            av_strerror(code, &buffer, buffer.count)
            return VLMError.badInput("\(path): cannot decode image (\(String(cString: buffer)))")
        }
        var format: UnsafeMutablePointer<AVFormatContext>? = nil
        var status = avformat_open_input(&format, path, nil, nil)
        guard status >= 0, let fmt = format else { throw fail(status) }
        defer { avformat_close_input(&format) }
        status = avformat_find_stream_info(fmt, nil)
        guard status >= 0 else { throw fail(status) }
        let index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, nil, 0)
        guard index >= 0, let stream = fmt.pointee.streams[Int(index)], let par = stream.pointee.codecpar else {
            throw VLMError.badInput("\(path): no image in the file")
        }
        try ImageLimits.check(width: Int(par.pointee.width), height: Int(par.pointee.height), maxPixels: maxPixels, source: path)
        guard let codec = avcodec_find_decoder(par.pointee.codec_id) else {
            throw VLMError.unsupported("\(path): no decoder for \(String(cString: avcodec_get_name(par.pointee.codec_id)))")
        }
        var context = avcodec_alloc_context3(codec)
        guard let ctx = context else { throw VLMError.runtime("out of memory") }
        defer { avcodec_free_context(&context) }
        guard avcodec_parameters_to_context(ctx, par) >= 0 else { throw VLMError.badInput("\(path): bad codec parameters") }
        ctx.pointee.thread_count = 1
        status = avcodec_open2(ctx, codec, nil)
        guard status >= 0 else { throw fail(status) }

        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        defer { av_packet_free(&packet); av_frame_free(&frame) }
        guard let pkt = packet, let frm = frame else { throw VLMError.runtime("out of memory") }
        // Feed packets of the image stream until one frame comes out (or the file ends).
        var decoded = false, sentEOF = false, packets = 0
        while !decoded {
            if !sentEOF {
                let read = av_read_frame(fmt, pkt)
                if read < 0 {
                    avcodec_send_packet(ctx, nil); sentEOF = true
                } else {
                    defer { av_packet_unref(pkt) }
                    packets += 1
                    guard packets < 10_000 else { throw VLMError.badInput("\(path): no decodable image in the first 10000 packets") }
                    if pkt.pointee.stream_index != index { continue }
                    let sent = avcodec_send_packet(ctx, pkt)
                    if sent < 0 && sent != vlm_averror_eagain() { throw fail(sent) }
                }
            }
            let received = avcodec_receive_frame(ctx, frm)
            if received >= 0 { decoded = true; break }
            if received == vlm_averror_eof() || (sentEOF && received != vlm_averror_eagain()) {
                throw VLMError.badInput("\(path): the file holds no decodable image")
            }
            if received != vlm_averror_eagain() { throw fail(received) }
        }
        let width = Int(frm.pointee.width), height = Int(frm.pointee.height)
        try ImageLimits.check(width: width, height: height, maxPixels: maxPixels, source: path)
        guard let sws = sws_getContext(Int32(width), Int32(height), AVPixelFormat(frm.pointee.format), Int32(width), Int32(height),
                                       AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nil, nil, nil) else {
            throw VLMError.unsupported("\(path): pixel format \(frm.pointee.format) cannot be converted to RGB")
        }
        defer { sws_freeContext(sws) }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            var dst: [UnsafeMutablePointer<UInt8>?] = [out.baseAddress, nil, nil, nil]
            var strides: [Int32] = [Int32(width * 3), 0, 0, 0]
            withUnsafePointer(to: &frm.pointee.data) { data in
                withUnsafePointer(to: &frm.pointee.linesize) { lines in
                    data.withMemoryRebound(to: UnsafePointer<UInt8>?.self, capacity: 8) { src in
                        lines.withMemoryRebound(to: Int32.self, capacity: 8) { srcStride in
                            _ = sws_scale(sws, src, srcStride, 0, Int32(height), &dst, &strides)
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
