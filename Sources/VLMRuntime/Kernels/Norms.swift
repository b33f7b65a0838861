#if canImport(Glibc)
import Glibc
#endif

/// Normalisation layers over rows of a row-major [rows x width] activation buffer.
/// Statistics are accumulated in Float with SIMD lanes, as transformers does in float32.
public enum Norms {
    /// RMSNorm: y = x / sqrt(mean(x^2) + eps) * (weight + weightOffset).
    /// `weightOffset` is 1 for Gemma checkpoints in Hugging Face layout, whose norm multiplies
    /// by (1 + w); GGUF files store Gemma's weights with the 1 already added.
    @inlinable
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               rows: Int, width: Int, weight: UnsafePointer<Float>,
                               eps: Float, weightOffset: Float = 0) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var acc = SIMD8<Float>(repeating: 0)
            var i = 0
            while i + 8 <= width {
                let v = UnsafeRawPointer(xr + i).loadUnaligned(as: SIMD8<Float>.self)
                acc.addProduct(v, v); i += 8
            }
            var sum = acc.sum()
            while i < width { sum += xr[i] * xr[i]; i += 1 }
            let inv = 1 / (sum / Float(width) + eps).squareRoot()
            for j in 0..<width { yr[j] = xr[j] * inv * (weight[j] + weightOffset) }
        }
    }

    /// LayerNorm: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance, as torch).
    @inlinable
    public static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                 rows: Int, width: Int, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, eps: Float) {
        for r in 0..<rows {
            let xr = x + r * width, yr = y + r * width
            var mean: Float = 0
            for j in 0..<width { mean += xr[j] }
            mean /= Float(width)
            var variance: Float = 0
            for j in 0..<width { let d = xr[j] - mean; variance += d * d }
            variance /= Float(width)
            let inv = 1 / (variance + eps).squareRoot()
            for j in 0..<width {
                yr[j] = (xr[j] - mean) * inv * weight[j] + (bias?[j] ?? 0)
            }
        }
    }
}
