import Foundation
import VLMRuntime

/// Shape and switches of a ViT encoder, read from a Hugging Face vision config. The encoders
/// we run differ only in a few places, which are flags here rather than separate classes:
///
/// | family  | class token | pre-LN | activation  | layer scale | patch bias | names      |
/// |---------|-------------|--------|-------------|-------------|------------|------------|
/// | CLIP    | yes         | yes    | quick_gelu  | no          | no         | CLIP       |
/// | SigLIP  | no          | no     | gelu (tanh) | no          | yes        | CLIP       |
/// | Idefics3| no          | no     | gelu (tanh) | no          | yes        | CLIP       |
/// | DINOv2  | yes         | no     | gelu (erf)  | yes         | yes        | DINOv2     |
public struct ViTConfig: Sendable {
    public enum Family: String, Sendable { case clip, siglip, idefics3, dinov2 }

    public var family: Family
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var imageSize: Int
    public var patchSize: Int
    public var layerNormEps: Float
    public var activation: Activation

    public var hasClassToken: Bool { family == .clip || family == .dinov2 }
    public var headDim: Int { hiddenSize / headCount }
    public var patchesPerSide: Int { imageSize / patchSize }

    /// A config of the given shape (benchmarks build random encoders of real models' shapes).
    public init(family: Family, hiddenSize: Int, layerCount: Int, headCount: Int, intermediateSize: Int,
                imageSize: Int, patchSize: Int) {
        self.family = family; self.hiddenSize = hiddenSize; self.layerCount = layerCount; self.headCount = headCount
        self.intermediateSize = intermediateSize; self.imageSize = imageSize; self.patchSize = patchSize
        layerNormEps = family == .clip ? 1e-5 : 1e-6
        activation = family == .clip ? .quickGelu : family == .dinov2 ? .gelu : .geluTanh
    }

    /// Shapes of published encoders, for benchmarks.
    public static let presets: [String: ViTConfig] = [
        "siglip-b16-512": ViTConfig(family: .idefics3, hiddenSize: 768, layerCount: 12, headCount: 12, intermediateSize: 3072, imageSize: 512, patchSize: 16),
        "clip-l14-336": ViTConfig(family: .clip, hiddenSize: 1024, layerCount: 24, headCount: 16, intermediateSize: 4096, imageSize: 336, patchSize: 14),
        "siglip-so400m-384": ViTConfig(family: .siglip, hiddenSize: 1152, layerCount: 27, headCount: 16, intermediateSize: 4304, imageSize: 384, patchSize: 14),
        "dinov2-s14-224": ViTConfig(family: .dinov2, hiddenSize: 384, layerCount: 12, headCount: 6, intermediateSize: 1536, imageSize: 224, patchSize: 14),
    ]

    public init(json j: [String: Any], source: String) throws {
        let type = j["model_type"] as? String ?? ""
        switch type {
        case "clip_vision_model", "clip": family = .clip
        case "siglip_vision_model", "siglip": family = .siglip
        case "idefics3_vision", "smolvlm_vision": family = .idefics3
        case "dinov2": family = .dinov2
        default: throw VLMError.unsupported("\(source): vision model_type '\(type)' (supported: clip, siglip, idefics3/smolvlm vision, dinov2)")
        }
        func int(_ k: String, _ fallback: Int? = nil) throws -> Int {
            if let v = (j[k] as? NSNumber)?.intValue { return v }
            if let fallback { return fallback }
            throw VLMError.badInput("\(source): vision config lacks '\(k)'")
        }
        hiddenSize = try int("hidden_size")
        layerCount = try int("num_hidden_layers")
        headCount = try int("num_attention_heads")
        intermediateSize = family == .dinov2 ? hiddenSize * (try int("mlp_ratio", 4)) : try int("intermediate_size")
        imageSize = try int("image_size")
        patchSize = try int("patch_size")
        layerNormEps = (j["layer_norm_eps"] as? NSNumber)?.floatValue ?? (family == .clip ? 1e-5 : 1e-6)
        let act = j["hidden_act"] as? String ?? (family == .clip ? "quick_gelu" : family == .dinov2 ? "gelu" : "gelu_pytorch_tanh")
        guard let activation = Activation(huggingFaceName: act) else { throw VLMError.unsupported("\(source): vision hidden_act '\(act)'") }
        self.activation = activation
        guard hiddenSize > 0, headCount > 0, hiddenSize % headCount == 0, patchSize > 0, imageSize >= patchSize,
              layerCount > 0, layerCount < 1000, hiddenSize < 1 << 16, intermediateSize > 0 else {
            throw VLMError.badInput("\(source): implausible vision config (hidden \(hiddenSize), heads \(headCount), patch \(patchSize), image \(imageSize))")
        }
    }
}
