import VLMRuntime
/// Gemma 3's pan-and-scan (`do_pan_and_scan` in Gemma3ImageProcessor): an image whose long side
/// is at least `minRatio` times its short side is also cut along the long side into 2 to
/// `maxCrops` crops, each read at the encoder's full size beside the whole image, so that a wide
/// picture is not only seen squeezed into one square. The encoder images are the whole image
/// first, then the crops left to right (or top to bottom); layout `.panAndScan(crops:)`, with 0
/// crops when the image is not exaggerated enough or the crops would be too small.
///
/// The crops are taken from the decoded image before any resize, as transformers does; its crop is
/// a NumPy slice, so the last crop is narrower when the long side does not divide evenly (a slice
/// stops at the edge) instead of being padded.
public struct PanAndScanProcessor: ImageProcessor {
    /// How each encoder image (the whole one and every crop) is resized and normalised.
    public var piece: ResizeCropProcessor
    public var minCropSize: Int
    public var maxCrops: Int
    public var minRatio: Double

    /// Gemma3Processor's defaults, used where preprocessor_config.json leaves the keys null.
    public static let defaults = (minCropSize: 256, maxCrops: 4, minRatio: 1.2)

    public init(piece: ResizeCropProcessor, minCropSize: Int = defaults.minCropSize, maxCrops: Int = defaults.maxCrops,
                minRatio: Double = defaults.minRatio) {
        self.piece = piece; self.minCropSize = minCropSize; self.maxCrops = maxCrops; self.minRatio = minRatio
    }

    /// The crop rectangles of a `width x height` image, in the order the model reads them: empty
    /// when pan-and-scan does not apply. `Gemma3ImageProcessor.pan_and_scan`, step for step.
    public func cropRectangles(width: Int, height: Int) -> [(x: Int, y: Int, width: Int, height: Int)] {
        guard width > 0, height > 0, minCropSize > 0 else { return [] }
        var across = 1, down = 1
        if width >= height {
            guard Double(width) / Double(height) >= minRatio else { return [] }
            across = Int((Double(width) / Double(height) + 0.5).rounded(.down))   // half rounds up
            across = min(width / minCropSize, across)
            across = min(maxCrops, max(2, across))
        } else {
            guard Double(height) / Double(width) >= minRatio else { return [] }
            down = Int((Double(height) / Double(width) + 0.5).rounded(.down))
            down = min(height / minCropSize, down)
            down = min(maxCrops, max(2, down))
        }
        let cropWidth = (width + across - 1) / across, cropHeight = (height + down - 1) / down
        guard min(cropWidth, cropHeight) >= minCropSize else { return [] }
        var rectangles: [(x: Int, y: Int, width: Int, height: Int)] = []
        for r in 0..<down {
            for c in 0..<across {
                let x = c * cropWidth, y = r * cropHeight
                // A NumPy slice past the edge stops there; a crop that starts past it would be
                // empty, which the ceil division above never produces for 2...maxCrops crops of
                // at least minCropSize pixels.
                let w = min(cropWidth, width - x), h = min(cropHeight, height - y)
                guard w > 0, h > 0 else { continue }
                rectangles.append((x, y, w, h))
            }
        }
        return rectangles
    }

    public func process(_ image: RGBImage) throws -> ProcessedImage {
        let crops = cropRectangles(width: image.width, height: image.height).map {
            ImageOps.crop(image, x: $0.x, y: $0.y, width: $0.width, height: $0.height)
        }
        let resized = ([image] + crops).map(piece.resized)
        return ProcessedImage(pixels: piece.normalization.batch(resized), originalWidth: image.width,
                              originalHeight: image.height, layout: .panAndScan(crops: crops.count))
    }
}
