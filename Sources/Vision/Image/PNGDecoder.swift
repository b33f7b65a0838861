import CPNGShim
import VLMRuntime

/// PNG decoding with libpng: 1- to 16-bit, palette, grey, with or without alpha, interlaced or
/// not. The result is byte-for-byte PIL's `Image.open(...).convert("RGB")`, which the reference
/// preprocessors use: alpha and tRNS are dropped (not composited onto a background), 16-bit
/// samples keep their high byte (16-bit grey, PIL's "I;16", is clipped at 255 as PIL does), and
/// no gAMA, sBIT or colour-profile transform is applied. That is why this goes through libpng's
/// full API in a C shim (Sources/CPNGShim) rather than the simplified `png_image` one, which
/// applies the file's gamma to 8-bit data and rounds 16-bit samples.
public enum PNGDecoder {
    public static func decode(_ data: [UInt8], source: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        var message = [CChar](repeating: 0, count: 256)
        var width: Int32 = 0, height: Int32 = 0
        let headerStatus = data.withUnsafeBufferPointer {
            vlm_png_read_header($0.baseAddress, $0.count, &width, &height, &message, message.count)
        }
        guard headerStatus == 0 else { throw VLMError.badInput("\(source): corrupt PNG (\(String(cString: message)))") }
        // The size comes from IHDR; refuse before allocating anything for the pixels.
        try ImageLimits.check(width: Int(width), height: Int(height), maxPixels: maxPixels, source: source)
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * 3)
        let status = data.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                vlm_png_decode_rgb(src.baseAddress, src.count, dst.baseAddress, width, height, &message, message.count)
            }
        }
        guard status == 0 else { throw VLMError.badInput("\(source): corrupt PNG (\(String(cString: message)))") }
        return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
    }
}
