import VLMRuntime
/// CLIPImageProcessor, SiglipImageProcessor and BitImageProcessor (DINOv2): one resize (the
/// shortest edge to a length, keeping the aspect ratio, or to a fixed size), an optional center
/// crop, then rescale and normalise. One encoder image, layout `.single`.
public struct ResizeCropProcessor: ImageProcessor {
    public enum Resize: Sendable, Equatable {
        /// Shortest edge to this length; the other edge int(length * long / short).
        case shortestEdge(Int)
        /// Exactly height x width.
        case fixed(height: Int, width: Int)
        case none
    }
    public var resize: Resize
    /// (height, width) of the center crop, nil for none.
    public var crop: (height: Int, width: Int)?
    public var filter: PILResampler.Filter
    public var normalization: PixelNormalization

    public init(resize: Resize, crop: (height: Int, width: Int)?, filter: PILResampler.Filter = .bicubic,
                normalization: PixelNormalization) {
        self.resize = resize; self.crop = crop; self.filter = filter; self.normalization = normalization
    }

    /// transformers' `get_resize_output_image_size(default_to_square=False)`: (height, width).
    public static func shortestEdgeSize(height: Int, width: Int, length: Int) -> (height: Int, width: Int) {
        let short = min(width, height), long = max(width, height)
        let newLong = Int(Double(length) * Double(long) / Double(short))
        return width <= height ? (newLong, length) : (length, newLong)
    }

    public func resized(_ image: RGBImage) -> RGBImage {
        var out = image
        switch resize {
        case .shortestEdge(let length):
            let s = Self.shortestEdgeSize(height: image.height, width: image.width, length: length)
            out = PILResampler.resize(image, width: s.width, height: s.height, filter: filter)
        case .fixed(let h, let w):
            out = PILResampler.resize(image, width: w, height: h, filter: filter)
        case .none: break
        }
        if let crop { out = ImageOps.centerCrop(out, width: crop.width, height: crop.height) }
        return out
    }

    /// A fixed resize without a crop gives every frame the same size.
    public var videoFrameInput: VideoFrameInput? {
        guard case .fixed(let h, let w) = resize, crop == nil else { return nil }
        return VideoFrameInput(width: w, height: h, normalization: normalization)
    }

    public func process(_ image: RGBImage) throws -> ProcessedImage {
        ProcessedImage(pixels: normalization.batch([resized(image)]), originalWidth: image.width, originalHeight: image.height,
                       layout: .single)
    }
}
