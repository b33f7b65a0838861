import Foundation
import VLMRuntime

/// Qwen2-VL / Qwen2.5-VL / Qwen3-VL image processing (transformers' `Qwen2VLImageProcessor`):
/// the image is resized, keeping its aspect ratio, to sides that are multiples of
/// patch x merge (`smartResize`) within a pixel budget, bicubic by default, then rescaled and
/// normalised. The patches and the 2-frame temporal patch are the vision tower's business
/// (QwenVisionTower), so one image leaves here as one frame of its resized size.
public struct QwenVLProcessor: ImageProcessor {
    public var factor: Int
    public var minPixels: Int
    public var maxPixels: Int
    public var filter: PILResampler.Filter
    public var normalization: PixelNormalization
    /// Video frames' budget (`video_preprocessor_config.json`, else the processor's defaults).
    public var videoMinPixels: Int
    public var videoMaxPixels: Int

    public init(factor: Int, minPixels: Int, maxPixels: Int, filter: PILResampler.Filter, normalization: PixelNormalization,
                videoMinPixels: Int? = nil, videoMaxPixels: Int? = nil) {
        self.factor = factor; self.minPixels = minPixels; self.maxPixels = maxPixels
        self.filter = filter; self.normalization = normalization
        self.videoMinPixels = videoMinPixels ?? minPixels; self.videoMaxPixels = videoMaxPixels ?? maxPixels
    }

    /// transformers' `smart_resize`: round each side to the nearest multiple of `factor`
    /// (Python's round, half to even), then scale both down (floor) or up (ceil) by one factor
    /// when the area leaves [minPixels, maxPixels]. Returns (height, width).
    public static func smartResize(height: Int, width: Int, factor: Int, minPixels: Int, maxPixels: Int) throws -> (Int, Int) {
        guard height > 0, width > 0 else { throw VLMError.badInput("an image of \(width)x\(height) pixels") }
        guard Double(max(height, width)) / Double(min(height, width)) <= 200 else {
            throw VLMError.badInput("absolute aspect ratio must be at most 200, got \(width)x\(height)")
        }
        let f = Double(factor)
        var h = Int((Double(height) / f).rounded(.toNearestOrEven)) * factor
        var w = Int((Double(width) / f).rounded(.toNearestOrEven)) * factor
        if h * w > maxPixels {
            let beta = (Double(height) * Double(width) / Double(maxPixels)).squareRoot()
            h = max(factor, Int((Double(height) / beta / f).rounded(.down)) * factor)
            w = max(factor, Int((Double(width) / beta / f).rounded(.down)) * factor)
        } else if h * w < minPixels {
            let beta = (Double(minPixels) / (Double(height) * Double(width))).squareRoot()
            h = Int((Double(height) * beta / f).rounded(.up)) * factor
            w = Int((Double(width) * beta / f).rounded(.up)) * factor
        }
        return (h, w)
    }

    public func process(_ image: RGBImage) throws -> ProcessedImage {
        let (h, w) = try Self.smartResize(height: image.height, width: image.width, factor: factor, minPixels: minPixels, maxPixels: maxPixels)
        let resized = (h == image.height && w == image.width) ? image : PILResampler.resize(image, width: w, height: h, filter: filter)
        return ProcessedImage(pixels: normalization.batch([resized]), originalWidth: image.width, originalHeight: image.height, layout: .single)
    }

    /// Video frames keep their aspect ratio too: the first frame's size through `smartResize`
    /// with the video budget.
    public func videoFrameInput(sourceWidth: Int, sourceHeight: Int) -> VideoFrameInput? {
        guard let (h, w) = try? Self.smartResize(height: sourceHeight, width: sourceWidth, factor: factor,
                                                 minPixels: videoMinPixels, maxPixels: videoMaxPixels) else { return nil }
        return VideoFrameInput(width: w, height: h, normalization: normalization)
    }

    /// From `preprocessor_config.json` (`min_pixels`/`max_pixels` override `size`'s
    /// shortest_edge/longest_edge, as transformers reads them).
    static func make(json j: [String: Any], source: String, defaults: (patch: Int, merge: Int, min: Int, max: Int),
                     filter: PILResampler.Filter, normalization: PixelNormalization, video: [String: Any]?) throws -> QwenVLProcessor {
        func int(_ o: [String: Any]?, _ k: String) -> Int? { (o?[k] as? NSNumber)?.intValue }
        func budget(_ o: [String: Any]?, _ fallback: (Int, Int)) -> (Int, Int) {
            let size = o?["size"] as? [String: Any]
            return (int(o, "min_pixels") ?? int(size, "shortest_edge") ?? fallback.0, int(o, "max_pixels") ?? int(size, "longest_edge") ?? fallback.1)
        }
        let patch = int(j, "patch_size") ?? defaults.patch, merge = int(j, "merge_size") ?? defaults.merge
        let (minPixels, maxPixels) = budget(j, (defaults.min, defaults.max))
        guard patch > 0, merge > 0, patch * merge <= 1024, minPixels > 0, maxPixels >= minPixels, maxPixels <= 1 << 28 else {
            throw VLMError.badInput("\(source): patch_size \(patch), merge_size \(merge), min/max pixels \(minPixels)/\(maxPixels) out of range")
        }
        let videoBudget = video.map { budget($0, (minPixels, maxPixels)) }
        return QwenVLProcessor(factor: patch * merge, minPixels: minPixels, maxPixels: maxPixels, filter: filter,
                               normalization: normalization, videoMinPixels: videoBudget?.0, videoMaxPixels: videoBudget?.1)
    }
}
