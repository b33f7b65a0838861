import CKernels

/// Normalisation layers over rows of a row-major [rows x width] activation buffer.
/// Statistics are accumulated in Float with vector lanes (`CKernels/vec_kernels`), as
/// transformers does in float32; `y` may be `x`.
public enum Norms {
    /// RMSNorm: y = x / sqrt(mean(x^2) + eps) * (weight + weightOffset).
    /// `weightOffset` is 1 for Gemma checkpoints in Hugging Face layout, whose norm multiplies
    /// by (1 + w); GGUF files store Gemma's weights with the 1 already added.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                               rows: Int, width: Int, weight: UnsafePointer<Float>,
                               eps: Float, weightOffset: Float = 0) {
        vlm_rmsnorm(x, y, rows, width, weight, eps, weightOffset)
    }

    /// LayerNorm: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance, as torch).
    public static func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                 rows: Int, width: Int, weight: UnsafePointer<Float>,
                                 bias: UnsafePointer<Float>?, eps: Float) {
        vlm_layernorm(x, y, rows, width, weight, bias, eps)
    }
}
