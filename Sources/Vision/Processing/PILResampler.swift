import VLMRuntime
#if canImport(Glibc)
import Glibc
#endif

/// Pillow's `Image.resize` on 8-bit RGB, reproduced exactly: the reference processors resize
/// uint8 PIL images, and a model trained through them sees PIL's pixels, not another
/// library's. Separable convolution, horizontal pass first, each pass rounding to 8 bits
/// through Pillow's 22-bit fixed-point coefficients; the kernel support widens by the scale
/// factor when downscaling (antialiasing), as Pillow's `precompute_coeffs` does.
public enum PILResampler {
    /// Pillow's filter codes, as `resample` in preprocessor_config.json writes them.
    public enum Filter: Int, Sendable {
        case nearest = 0, lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5

        var support: Double {
            switch self {
            case .nearest, .box: return 0.5
            case .bilinear, .hamming: return 1
            case .bicubic: return 2
            case .lanczos: return 3
            }
        }

        func weight(_ x: Double) -> Double {
            switch self {
            case .nearest, .box:
                return (x > -0.5 && x <= 0.5) ? 1 : 0
            case .bilinear:
                let a = abs(x); return a < 1 ? 1 - a : 0
            case .hamming:
                let a = abs(x)
                if a == 0 { return 1 }
                if a >= 1 { return 0 }
                return sin(Double.pi * a) / (Double.pi * a) * (0.54 + 0.46 * cos(Double.pi * a))
            case .bicubic:
                let a = -0.5, t = abs(x)
                if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
                if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
                return 0
            case .lanczos:
                func sinc(_ v: Double) -> Double { v == 0 ? 1 : sin(Double.pi * v) / (Double.pi * v) }
                return (x > -3 && x < 3) ? sinc(x) * sinc(x / 3) : 0
            }
        }
    }

    static let precisionBits = 32 - 8 - 2

    /// Per-output-pixel input ranges and fixed-point weights (Pillow's `precompute_coeffs`
    /// followed by `normalize_coeffs_8bpc`).
    struct Coefficients {
        var start: [Int]
        var count: [Int]
        var kernelSize: Int
        var weights: [Int32]   // outSize x kernelSize
    }

    static func coefficients(inSize: Int, outSize: Int, filter: Filter) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let kernelSize = Int(support.rounded(.up)) * 2 + 1
        var start = [Int](repeating: 0, count: outSize), count = [Int](repeating: 0, count: outSize)
        var weights = [Int32](repeating: 0, count: outSize * kernelSize)
        var k = [Double](repeating: 0, count: kernelSize)
        let ss = 1 / filterScale
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            var xmin = Int(center - support + 0.5)   // C's (int) truncates toward zero
            if xmin < 0 { xmin = 0 }
            var xmax = Int(center + support + 0.5)
            if xmax > inSize { xmax = inSize }
            xmax -= xmin
            var total = 0.0
            for x in 0..<xmax {
                let w = filter.weight((Double(x + xmin) - center + 0.5) * ss)
                k[x] = w; total += w
            }
            for x in 0..<xmax {
                let w = total != 0 ? k[x] / total : k[x]
                let fixed = w * Double(1 << precisionBits)
                weights[xx * kernelSize + x] = Int32(w < 0 ? (-0.5 + fixed).rounded(.towardZero) : (0.5 + fixed).rounded(.towardZero))
            }
            start[xx] = xmin; count[xx] = xmax
        }
        return Coefficients(start: start, count: count, kernelSize: kernelSize, weights: weights)
    }

    /// Resizes to `width x height` with Pillow's arithmetic. Same size returns the image as is
    /// (Pillow copies).
    public static func resize(_ image: RGBImage, width: Int, height: Int, filter: Filter) -> RGBImage {
        precondition(width > 0 && height > 0, "resize to an empty image")
        if width == image.width && height == image.height { return image }
        if filter == .nearest { return nearest(image, width: width, height: height) }
        var current = image
        // Pillow (13, measured: tools/make_qwen_vl_fixtures.py's 300x200 -> 308x196) runs the
        // vertical pass first when the width grows and the height shrinks, else horizontal
        // first; the intermediate image is rounded to 8 bits, so the order shows.
        if width > image.width && height < image.height {
            current = vertical(current, to: height, filter: filter)
            return horizontal(current, to: width, filter: filter)
        }
        if width != image.width { current = horizontal(current, to: width, filter: filter) }
        if height != image.height { current = vertical(current, to: height, filter: filter) }
        return current
    }

    @inline(__always)
    static func clip8(_ v: Int32) -> UInt8 {
        let s = v >> Int32(precisionBits)
        return s < 0 ? 0 : (s > 255 ? 255 : UInt8(s))
    }

    static func horizontal(_ image: RGBImage, to outWidth: Int, filter: Filter) -> RGBImage {
        let c = coefficients(inSize: image.width, outSize: outWidth, filter: filter)
        var out = [UInt8](repeating: 0, count: outWidth * image.height * 3)
        let inWidth = image.width
        image.pixels.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { dst in
            c.weights.withUnsafeBufferPointer { w in
                for y in 0..<image.height {
                    let row = src.baseAddress! + y * inWidth * 3
                    let orow = dst.baseAddress! + y * outWidth * 3
                    for x in 0..<outWidth {
                        let k = w.baseAddress! + x * c.kernelSize
                        var r: Int32 = 1 << Int32(precisionBits - 1), g = r, b = r
                        let p = row + c.start[x] * 3
                        for i in 0..<c.count[x] {
                            let wi = k[i]
                            r &+= Int32(p[i * 3]) &* wi; g &+= Int32(p[i * 3 + 1]) &* wi; b &+= Int32(p[i * 3 + 2]) &* wi
                        }
                        orow[x * 3] = clip8(r); orow[x * 3 + 1] = clip8(g); orow[x * 3 + 2] = clip8(b)
                    }
                }
            }
        }}
        return RGBImage(width: outWidth, height: image.height, pixels: out)
    }

    static func vertical(_ image: RGBImage, to outHeight: Int, filter: Filter) -> RGBImage {
        let c = coefficients(inSize: image.height, outSize: outHeight, filter: filter)
        let stride = image.width * 3
        var out = [UInt8](repeating: 0, count: stride * outHeight)
        image.pixels.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { dst in
            c.weights.withUnsafeBufferPointer { w in
                var acc = [Int32](repeating: 0, count: stride)
                for y in 0..<outHeight {
                    let k = w.baseAddress! + y * c.kernelSize
                    for j in 0..<stride { acc[j] = 1 << Int32(precisionBits - 1) }
                    for i in 0..<c.count[y] {
                        let wi = k[i]
                        let row = src.baseAddress! + (c.start[y] + i) * stride
                        for j in 0..<stride { acc[j] &+= Int32(row[j]) &* wi }
                    }
                    let orow = dst.baseAddress! + y * stride
                    for j in 0..<stride { orow[j] = clip8(acc[j]) }
                }
            }
        }}
        return RGBImage(width: image.width, height: outHeight, pixels: out)
    }

    /// Pillow's NEAREST resize: source pixel floor((x + 0.5) * in / out).
    static func nearest(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let sx = Double(image.width) / Double(width), sy = Double(image.height) / Double(height)
        for y in 0..<height {
            let iy = min(image.height - 1, Int((Double(y) + 0.5) * sy))
            for x in 0..<width {
                let ix = min(image.width - 1, Int((Double(x) + 0.5) * sx))
                for ch in 0..<3 { out[(y * width + x) * 3 + ch] = image.pixels[(iy * image.width + ix) * 3 + ch] }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
