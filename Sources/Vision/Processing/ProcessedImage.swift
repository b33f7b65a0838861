import VLMRuntime
/// What an image processor hands a model family: the encoder inputs and the layout the family
/// needs to place the resulting tokens in the prompt (and the reducers need for geometry).
public struct ProcessedImage: Sendable {
    /// Every image the encoder reads, in the order the model reads them.
    public var pixels: PixelBatch
    /// The decoded image's size before any processing (Hugging Face's `image_sizes`).
    public var originalWidth: Int
    public var originalHeight: Int
    public var layout: TileLayout

    public init(pixels: PixelBatch, originalWidth: Int, originalHeight: Int, layout: TileLayout) {
        self.pixels = pixels; self.originalWidth = originalWidth; self.originalHeight = originalHeight
        self.layout = layout
    }
}

/// How the images of a `PixelBatch` relate to the original picture.
public enum TileLayout: Sendable, Equatable {
    /// One resized (and possibly cropped) image.
    case single
    /// LLaVA-NeXT / LLaVA-OneVision AnyRes: image 0 is the whole picture resized to the encoder
    /// size (the "base" or thumbnail), then `rows * cols` crops in raster order of the grid
    /// picked for the best-fit resolution `gridHeight x gridWidth` pixels.
    case anyRes(rows: Int, cols: Int, gridHeight: Int, gridWidth: Int)
    /// Idefics3 / SmolVLM splitting: `rows * cols` tiles in raster order, then the global image
    /// last; `rows == 0 && cols == 0` means the image was not split (one global image only).
    case split(rows: Int, cols: Int)
    /// Gemma 3 pan-and-scan: image 0 is the whole picture, then `crops` crops along its long
    /// side in reading order (`PanAndScanProcessor`); 0 crops when it did not apply.
    case panAndScan(crops: Int)
}

/// Turns a decoded image into encoder inputs, reproducing one Hugging Face image processor.
public protocol ImageProcessor: Sendable {
    func process(_ image: RGBImage) throws -> ProcessedImage
    /// How video frames are made ready for the encoder with this processor: scaled by FFmpeg
    /// straight to one fixed size and normalised as images are. nil for processors whose
    /// output size depends on the image (no video through them).
    var videoFrameInput: VideoFrameInput? { get }
    /// The same for a video whose frames are `sourceWidth x sourceHeight` upright: processors
    /// that keep the aspect ratio (Qwen-VL) size frames from the source.
    func videoFrameInput(sourceWidth: Int, sourceHeight: Int) -> VideoFrameInput?
}

extension ImageProcessor {
    public var videoFrameInput: VideoFrameInput? { nil }
    public func videoFrameInput(sourceWidth: Int, sourceHeight: Int) -> VideoFrameInput? { videoFrameInput }
}

/// The fixed encoder input a processor gives every video frame.
public struct VideoFrameInput: Sendable {
    public var width: Int
    public var height: Int
    public var normalization: PixelNormalization
    public init(width: Int, height: Int, normalization: PixelNormalization) {
        self.width = width; self.height = height; self.normalization = normalization
    }
}
