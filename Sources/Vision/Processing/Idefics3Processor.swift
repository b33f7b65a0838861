import VLMRuntime
/// Idefics3's and SmolVLM's image splitting: resize so the longest edge is `longestEdge`
/// (the short edge rounded up to even), grow each side to a multiple of the tile size, cut
/// tiles in raster order and append the whole image squashed to one tile (the global image).
/// An image that already fits one tile is not split (layout `.split(rows: 0, cols: 0)`).
public struct Idefics3Processor: ImageProcessor {
    public var longestEdge: Int
    public var tileSize: Int
    public var splitting: Bool
    public var filter: PILResampler.Filter
    public var normalization: PixelNormalization

    /// transformers caps every side at 4096 pixels before splitting.
    static let maxImageSide = 4096

    public init(longestEdge: Int, tileSize: Int, splitting: Bool = true, filter: PILResampler.Filter = .lanczos,
                normalization: PixelNormalization = .imageNetStandard) {
        self.longestEdge = longestEdge; self.tileSize = tileSize; self.splitting = splitting
        self.filter = filter; self.normalization = normalization
    }

    /// `_resize_output_size_rescale_to_max_len` then `_resize_output_size_scale_below_upper_bound`.
    static func longestEdgeSize(height: Int, width: Int, maxLength: Int) -> (height: Int, width: Int) {
        var h = height, w = width
        let aspect = Double(w) / Double(h)
        if w >= h {
            w = maxLength; h = Int(Double(w) / aspect); if h % 2 != 0 { h += 1 }
        } else {
            h = maxLength; w = Int(Double(h) * aspect); if w % 2 != 0 { w += 1 }
        }
        h = max(h, 1); w = max(w, 1)
        let aspect2 = Double(w) / Double(h)
        if w >= h && w > maxImageSide { w = maxImageSide; h = Int(Double(w) / aspect2) }
        else if h > w && h > maxImageSide { h = maxImageSide; w = Int(Double(h) * aspect2) }
        return (max(h, 1), max(w, 1))
    }

    /// `resize_for_vision_encoder`: each side up to a multiple of the tile size.
    static func tileMultipleSize(height: Int, width: Int, tile: Int) -> (height: Int, width: Int) {
        let aspect = Double(width) / Double(height)
        func up(_ v: Double) -> Int { Int((v / Double(tile)).rounded(.up)) * tile }
        if width >= height {
            let w = up(Double(width))
            let h = up(Double(Int(Double(w) / aspect)))
            return (h, w)
        }
        let h = up(Double(height))
        let w = up(Double(Int(Double(h) * aspect)))
        return (h, w)
    }

    public func process(_ image: RGBImage) throws -> ProcessedImage {
        let s = Self.longestEdgeSize(height: image.height, width: image.width, maxLength: longestEdge)
        var current = PILResampler.resize(image, width: s.width, height: s.height, filter: filter)
        guard splitting else {
            let square = PILResampler.resize(current, width: tileSize, height: tileSize, filter: filter)
            return ProcessedImage(pixels: normalization.batch([square]), originalWidth: image.width, originalHeight: image.height,
                                  layout: .split(rows: 0, cols: 0))
        }
        let t = Self.tileMultipleSize(height: current.height, width: current.width, tile: tileSize)
        current = PILResampler.resize(current, width: t.width, height: t.height, filter: filter)
        guard current.height > tileSize || current.width > tileSize else {
            return ProcessedImage(pixels: normalization.batch([current]), originalWidth: image.width, originalHeight: image.height,
                                  layout: .split(rows: 0, cols: 0))
        }
        let rows = (current.height - tileSize) / tileSize + 1, cols = (current.width - tileSize) / tileSize + 1
        var tiles: [RGBImage] = []
        for r in 0..<rows { for c in 0..<cols {
            tiles.append(ImageOps.crop(current, x: c * tileSize, y: r * tileSize, width: tileSize, height: tileSize))
        }}
        tiles.append(PILResampler.resize(current, width: tileSize, height: tileSize, filter: filter))
        return ProcessedImage(pixels: normalization.batch(tiles), originalWidth: image.width, originalHeight: image.height,
                              layout: .split(rows: rows, cols: cols))
    }
}
