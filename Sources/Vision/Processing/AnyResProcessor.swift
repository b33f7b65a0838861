import VLMRuntime
/// LLaVA-NeXT's and LLaVA-OneVision's AnyRes preprocessing: pick the grid resolution that best
/// fits the image (`select_best_resolution`), resize into it keeping the aspect ratio (ceil of
/// the scaled short side), pad centred with zeros, cut into encoder-sized crops in raster order,
/// and put the whole image squashed to the encoder size in front (the "base" image). Each piece
/// then goes through the per-image steps (LLaVA-NeXT: shortest-edge resize and center crop,
/// no-ops at that size; OneVision: a fixed-size resize).
public struct AnyResProcessor: ImageProcessor {
    public var pinpoints: [(Int, Int)]
    /// Side of one crop (= the encoder's input size).
    public var cropSize: Int
    /// The per-piece steps and normalisation.
    public var perPiece: ResizeCropProcessor

    public init(pinpoints: [(Int, Int)], cropSize: Int, perPiece: ResizeCropProcessor) {
        self.pinpoints = pinpoints; self.cropSize = cropSize; self.perPiece = perPiece
    }

    /// `get_patch_output_size`: the image scaled into (targetHeight, targetWidth) keeping aspect.
    static func patchOutputSize(height: Int, width: Int, targetHeight: Int, targetWidth: Int) -> (height: Int, width: Int) {
        let scaleW = Double(targetWidth) / Double(width), scaleH = Double(targetHeight) / Double(height)
        if scaleW < scaleH {
            return (min(Int((Double(height) * scaleW).rounded(.up)), targetHeight), targetWidth)
        }
        return (targetHeight, min(Int((Double(width) * scaleH).rounded(.up)), targetWidth))
    }

    /// Video frames are read at the crop size (LLaVA-OneVision's video processor).
    public var videoFrameInput: VideoFrameInput? {
        VideoFrameInput(width: cropSize, height: cropSize, normalization: perPiece.normalization)
    }

    public func process(_ image: RGBImage) throws -> ProcessedImage {
        let best = AnyResPacking.bestResolution(height: image.height, width: image.width, pinpoints: pinpoints)
        let fit = Self.patchOutputSize(height: image.height, width: image.width, targetHeight: best.height, targetWidth: best.width)
        let resized = PILResampler.resize(image, width: fit.width, height: fit.height, filter: perPiece.filter)
        // Centred padding: floor of half the slack before, the rest after.
        let padded = ImageOps.crop(resized, x: -((best.width - fit.width) / 2), y: -((best.height - fit.height) / 2),
                                   width: best.width, height: best.height)
        var pieces = [perPiece.resized(PILResampler.resize(image, width: cropSize, height: cropSize, filter: perPiece.filter))]
        let rows = best.height / cropSize, cols = best.width / cropSize
        for r in 0..<rows {
            for c in 0..<cols {
                let crop = ImageOps.crop(padded, x: c * cropSize, y: r * cropSize, width: cropSize, height: cropSize)
                pieces.append(perPiece.resized(crop))
            }
        }
        return ProcessedImage(pixels: perPiece.normalization.batch(pieces), originalWidth: image.width,
                              originalHeight: image.height,
                              layout: .anyRes(rows: rows, cols: cols, gridHeight: best.height, gridWidth: best.width))
    }
}
