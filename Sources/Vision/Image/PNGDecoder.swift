import CPNG
import VLMRuntime

/// PNG decoding with libpng's simplified API: 8- and 16-bit, palette, grayscale, with or
/// without alpha. The result matches PIL's `convert("RGB")`: alpha is dropped, not composited
/// onto a background, and 16-bit samples keep their high byte. Values pass through unchanged
/// (no gamma or colour-space conversion).
public enum PNGDecoder {
    public static func decode(_ data: [UInt8], source: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        // libpng keeps a pointer to the compressed bytes from begin_read until finish_read.
        try data.withUnsafeBufferPointer { try decode($0, source: source, maxPixels: maxPixels) }
    }

    static func decode(_ data: UnsafeBufferPointer<UInt8>, source: String, maxPixels: Int) throws -> RGBImage {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        let opened = png_image_begin_read_from_memory(&image, data.baseAddress, data.count)
        guard opened != 0 else { throw VLMError.badInput("\(source): corrupt PNG (\(message(image)))") }
        let width = Int(image.width), height = Int(image.height)
        try ImageLimits.check(width: width, height: height, maxPixels: maxPixels, source: source)

        // Read as 8-bit RGBA: libpng would composite alpha onto a background if asked for RGB;
        // reading RGBA and dropping A is what PIL does. The sRGB 8-bit formats leave values as stored.
        image.format = UInt32(PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA)  // PNG_FORMAT_RGBA
        var rgba = [UInt8](repeating: 0, count: width * height * 4)
        let ok = rgba.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw VLMError.badInput("\(source): corrupt PNG (\(message(image)))") }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<width * height {
            rgb[3 * i] = rgba[4 * i]; rgb[3 * i + 1] = rgba[4 * i + 1]; rgb[3 * i + 2] = rgba[4 * i + 2]
        }
        return RGBImage(width: width, height: height, pixels: rgb)
    }

    private static func message(_ image: png_image) -> String {
        var m = image.message
        return withUnsafeBytes(of: &m) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
    }
}
