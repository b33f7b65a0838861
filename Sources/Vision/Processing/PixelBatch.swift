import VLMRuntime
/// Normalised pixels ready for a vision encoder: `count` images of 3 x `height` x `width`,
/// channel-planar, exactly PyTorch's NCHW `pixel_values`. All images of a batch share one size.
public struct PixelBatch: Sendable {
    public var data: [Float]
    public let count: Int
    public let height: Int
    public let width: Int

    public init(data: [Float], count: Int, height: Int, width: Int) {
        precondition(data.count == count * 3 * height * width, "pixel data does not match \(count)x3x\(height)x\(width)")
        self.data = data; self.count = count; self.height = height; self.width = width
    }

    /// Floats in one image (3 * height * width).
    public var imageStride: Int { 3 * height * width }
}
