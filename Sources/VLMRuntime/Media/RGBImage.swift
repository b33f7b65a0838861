/// An 8-bit RGB image, interleaved, row-major: the form every image decoder and the video
/// reader produce and every processor consumes (the reference models were trained on PIL's
/// `convert("RGB")`). It lives in the runtime so that Video and Vision share it without
/// depending on each other.
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
