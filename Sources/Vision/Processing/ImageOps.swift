import VLMRuntime
/// Crops, pads and normalisation on decoded images: the NumPy steps of Hugging Face's
/// processors, on the same uint8 values.
public enum ImageOps {
    /// The region [x, x+width) x [y, y+height); parts outside the image are `fill`.
    public static func crop(_ image: RGBImage, x: Int, y: Int, width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (0, 0, 0)) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for oy in 0..<height {
            let sy = y + oy
            for ox in 0..<width {
                let sx = x + ox, o = (oy * width + ox) * 3
                if sy >= 0, sy < image.height, sx >= 0, sx < image.width {
                    let i = (sy * image.width + sx) * 3
                    out[o] = image.pixels[i]; out[o + 1] = image.pixels[i + 1]; out[o + 2] = image.pixels[i + 2]
                } else {
                    out[o] = fill.0; out[o + 1] = fill.1; out[o + 2] = fill.2
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// transformers' `center_crop`: top = (H - h) // 2, left = (W - w) // 2 (padding with zeros
    /// when the crop is larger than the image).
    public static func centerCrop(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        if width == image.width && height == image.height { return image }
        return crop(image, x: floorDiv(image.width - width, 2), y: floorDiv(image.height - height, 2), width: width, height: height)
    }

    /// Python's floor division.
    static func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }

    /// Rescale by 1/255 (or `rescale`) and normalise per channel into `out`, channel-planar.
    public static func normalize(_ image: RGBImage, rescale: Float, mean: [Float], std: [Float], into out: UnsafeMutablePointer<Float>) {
        let plane = image.width * image.height
        image.pixels.withUnsafeBufferPointer { p in
            for ch in 0..<3 {
                let m = mean[ch], inv = 1 / std[ch], o = out + ch * plane
                for i in 0..<plane { o[i] = (Float(p[i * 3 + ch]) * rescale - m) * inv }
            }
        }
    }
}

/// Rescale and normalisation settings shared by every processor.
public struct PixelNormalization: Sendable {
    public var rescale: Float = 1.0 / 255
    public var mean: [Float]
    public var std: [Float]

    public init(rescale: Float = 1.0 / 255, mean: [Float], std: [Float]) {
        self.rescale = rescale; self.mean = mean; self.std = std
    }

    public static let openAICLIP = PixelNormalization(mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711])
    public static let imageNetStandard = PixelNormalization(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
    public static let imageNetDefault = PixelNormalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// Equal-sized images into one batch.
    public func batch(_ images: [RGBImage]) -> PixelBatch {
        let h = images[0].height, w = images[0].width
        var data = [Float](repeating: 0, count: images.count * 3 * h * w)
        data.withUnsafeMutableBufferPointer { d in
            for (i, image) in images.enumerated() {
                precondition(image.width == w && image.height == h, "images of one batch differ in size")
                ImageOps.normalize(image, rescale: rescale, mean: mean, std: std, into: d.baseAddress! + i * 3 * h * w)
            }
        }
        return PixelBatch(data: data, count: images.count, height: h, width: w)
    }
}
