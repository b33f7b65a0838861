import VLMRuntime

/// An 8-bit RGB image, interleaved, row-major: the form every decoder produces and every
/// processor consumes (the reference models were trained on PIL's `convert("RGB")`).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "pixel buffer does not match \(width)x\(height) RGB")
        self.width = width; self.height = height; self.pixels = pixels
    }

    /// The RGB triple at (x, y).
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = (y * width + x) * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

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
