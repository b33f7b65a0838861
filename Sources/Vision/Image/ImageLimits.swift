import VLMRuntime

/// Decoders refuse images larger than this many pixels unless told otherwise; the size is read
/// from the header before any pixel buffer is allocated (decompression bombs).
public enum ImageLimits {
    public static let defaultMaxPixels = 50_000_000

    static func check(width: Int, height: Int, maxPixels: Int, source: String) throws {
        guard width > 0, height > 0 else { throw VLMError.badInput("\(source): image has no pixels (\(width) x \(height))") }
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, pixels <= maxPixels else {
            throw VLMError.badInput("\(source): image is \(width) x \(height), over the \(maxPixels / 1_000_000)-megapixel limit")
        }
    }
}
