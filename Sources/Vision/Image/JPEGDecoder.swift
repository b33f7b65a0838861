import CJPEGShim
import VLMRuntime

/// JPEG decoding with libjpeg(-turbo): baseline and progressive, RGB, grayscale (replicated to
/// RGB) and CMYK/YCCK (converted as PIL does). Errors in the stream are errors, not grey pixels.
public enum JPEGDecoder {
    public static func decode(_ data: [UInt8], source: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        var message = [CChar](repeating: 0, count: 256)
        var width: Int32 = 0, height: Int32 = 0, components: Int32 = 0
        let headerStatus = data.withUnsafeBufferPointer {
            vlm_jpeg_read_header($0.baseAddress, $0.count, &width, &height, &components, &message, message.count)
        }
        guard headerStatus == 0 else { throw VLMError.badInput("\(source): corrupt JPEG (\(String(cString: message)))") }
        try ImageLimits.check(width: Int(width), height: Int(height), maxPixels: maxPixels, source: source)
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = data.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                vlm_jpeg_decode_rgb(src.baseAddress, src.count, dst.baseAddress, width, height, &message, message.count)
            }
        }
        guard status == 0 else { throw VLMError.badInput("\(source): corrupt JPEG (\(String(cString: message)))") }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }
}
