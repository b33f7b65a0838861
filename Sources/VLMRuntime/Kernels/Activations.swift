#if canImport(Glibc)
import Glibc
#endif

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

    /// In place over `count` floats.
    @inlinable
    public func apply(_ x: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        switch self {
        case .geluTanh, .quickGelu, .silu:
            // Vectorised through exp: tanh(u) = 1 - 2 / (e^{2u} + 1), sigmoid(v) = 1 / (1 + e^{-v}).
            while i + 8 <= count {
                let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
                let r: SIMD8<Float>
                switch self {
                case .geluTanh:
                    let u = 0.7978845608028654 * (v + 0.044715 * v * v * v)
                    let t = 1 - 2 / (VectorMath.exp(2 * u) + 1)
                    r = 0.5 * v * (1 + t)
                case .quickGelu: r = v / (1 + VectorMath.exp(-1.702 * v))
                default: r = v / (1 + VectorMath.exp(-v))
                }
                UnsafeMutableRawPointer(x + i).storeBytes(of: r, as: SIMD8<Float>.self)
                i += 8
            }
        case .gelu: break
        }
        while i < count { x[i] = self(x[i]); i += 1 }
    }

    /// Gated MLP activation: gate[i] = act(gate[i]) * up[i], in place in `gate`.
    @inlinable
    public func applyGated(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { gate[i] = self(gate[i]) * up[i] }
    }
}
