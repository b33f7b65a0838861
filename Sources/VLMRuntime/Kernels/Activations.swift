#if canImport(Glibc)
import Glibc
#endif
import CKernels

/// Element-wise activation functions used by decoder MLPs and ViTs.
public enum Activation: String, Sendable {
    /// The activation a Hugging Face config names (`hidden_act`, `projector_hidden_act`, as
    /// transformers' ACT2FN spells them), or nil for one vlm does not implement.
    public init?(huggingFaceName name: String) {
        switch name {
        case "silu", "swish": self = .silu
        case "gelu_pytorch_tanh", "gelu_new": self = .geluTanh
        case "gelu": self = .gelu
        case "quick_gelu": self = .quickGelu
        default: return nil
        }
    }

    /// x * sigmoid(x): Llama, Qwen2, SmolLM2.
    case silu
    /// The tanh approximation of GELU (`gelu_pytorch_tanh`): Gemma 3, SigLIP.
    case geluTanh
    /// Exact GELU with erf: CLIP-L projectors, DINOv2.
    case gelu
    /// x * sigmoid(1.702 x): OpenAI CLIP.
    case quickGelu

    @inlinable
    public func callAsFunction(_ x: Float) -> Float {
        switch self {
        case .silu: return x / (1 + expf(-x))
        case .geluTanh:
            let c: Float = 0.7978845608028654  // sqrt(2 / pi)
            return 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x)))
        case .gelu: return 0.5 * x * (1 + erff(x * 0.7071067811865476))
        case .quickGelu: return x / (1 + expf(-1.702 * x))
        }
    }

    /// The kind `CKernels/vec_kernels` takes.
    var kernelKind: Int32 {
        switch self {
        case .silu: return Int32(VLM_ACT_SILU)
        case .geluTanh: return Int32(VLM_ACT_GELU_TANH)
        case .gelu: return Int32(VLM_ACT_GELU)
        case .quickGelu: return Int32(VLM_ACT_QUICK_GELU)
        }
    }

    /// In place over `count` floats, vectorised through the exponential (tanh(u) = 1 - 2 /
    /// (e^{2u} + 1), sigmoid(v) = 1 / (1 + e^{-v})); exact GELU calls erff per value.
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        vlm_activation(kernelKind, x, count)
    }

    /// Gated MLP activation: gate[i] = act(gate[i]) * up[i], in place in `gate`.
    public func applyGated(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        vlm_activation_gated(kernelKind, gate, up, count)
    }
}
