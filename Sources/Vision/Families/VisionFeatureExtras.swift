import VLMRuntime

/// Per-patch numbers appended to the vision tower's patch features before the projector
/// (config.json's `vision_feature_extras`, in the order written there).
///
/// Why: a composed model like vlm's default one reads a frozen DINOv2, whose self-supervised
/// training (colour jitter) leaves hue weaker in its features, and whose tokens reach the LLM
/// as a flat sequence, so "where" has to be inferred from token order. Handing the projector
/// each patch's mean colour and its place on the image costs five numbers per token.
/// Reducers see the widened features too, so a merged token carries the mean colour and mean
/// position of what it merged. (The committed default projector does not use them: an 82-minute
/// CPU run with them did not beat it; `tools/train_default_vlm.py --patch-extras 1`.)
public enum VisionFeatureExtra: String, Sendable, CaseIterable {
    /// The mean of the patch's normalized pixel values, per channel (3 numbers).
    case patchMeanColour = "patch_mean_colour"
    /// The patch centre, x then y, each in [-1, 1] across the image (2 numbers).
    case patchPosition = "patch_position"

    public var width: Int {
        switch self {
        case .patchMeanColour: return 3
        case .patchPosition: return 2
        }
    }

    /// Numbers `extras` add to each patch token.
    static func width(of extras: [VisionFeatureExtra]) -> Int { extras.reduce(0) { $0 + $1.width } }

    /// `patches` (gridRows*gridCols rows of `width`, raster order) widened by `extras`, computed
    /// from image `index` of `pixels`, whose patch grid is gridRows x gridCols.
    static func append(_ extras: [VisionFeatureExtra], to patches: [Float], width: Int, pixels: PixelBatch, index: Int,
                       gridRows: Int, gridCols: Int) -> [Float] {
        let added = Self.width(of: extras)
        guard added > 0 else { return patches }
        let patchH = pixels.height / gridRows, patchW = pixels.width / gridCols
        let plane = pixels.height * pixels.width
        let outWidth = width + added
        var out = [Float](repeating: 0, count: gridRows * gridCols * outWidth)
        patches.withUnsafeBufferPointer { src in pixels.data.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { dst in
            let image = px.baseAddress! + index * pixels.imageStride
            for r in 0..<gridRows {
                for c in 0..<gridCols {
                    let t = r * gridCols + c
                    let row = dst.baseAddress! + t * outWidth
                    row.update(from: src.baseAddress! + t * width, count: width)
                    var o = width
                    for extra in extras {
                        switch extra {
                        case .patchMeanColour:
                            for ch in 0..<3 {
                                var sum: Float = 0
                                for y in (r * patchH)..<((r + 1) * patchH) {
                                    let line = image + ch * plane + y * pixels.width + c * patchW
                                    for x in 0..<patchW { sum += line[x] }
                                }
                                row[o + ch] = sum / Float(patchH * patchW)
                            }
                        case .patchPosition:
                            row[o] = (Float(c) + 0.5) / Float(gridCols) * 2 - 1
                            row[o + 1] = (Float(r) + 0.5) / Float(gridRows) * 2 - 1
                        }
                        o += extra.width
                    }
                }
            }
        }}}
        return out
    }
}
