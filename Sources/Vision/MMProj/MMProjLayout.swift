import Foundation
import VLMRuntime

/// What a family makes of an mmproj file: the Hugging Face config.json and image-processor
/// config the converted directory had (as far as the file says; the rest are the family's
/// transformers defaults) and the tensors' Hugging Face names.
public struct MMProjLayout {
    public var config: [String: Any]
    public var preprocessor: [String: Any]
    public var names: MMProjTensorNames

    public init(config: [String: Any], preprocessor: [String: Any], names: MMProjTensorNames) {
        self.config = config; self.preprocessor = preprocessor; self.names = names
    }

    /// The `vision_config` of a CLIP or SigLIP tower as the mmproj describes it.
    public static func visionConfig(_ m: MMProjFile, modelType: String) -> [String: Any] {
        ["model_type": modelType, "hidden_size": m.hiddenSize, "intermediate_size": m.intermediateSize,
         "num_hidden_layers": m.layerCount, "num_attention_heads": m.headCount, "image_size": m.imageSize,
         "patch_size": m.patchSize, "layer_norm_eps": Double(m.layerNormEps), "hidden_act": m.activationName, "num_channels": 3]
    }

    /// The id of `token` in the pair's LLM vocabulary; a pair whose LLM lacks its family's image
    /// token was not converted from one checkpoint.
    public static func tokenID(_ token: String, in language: LanguageModel, mmproj: MMProjFile) throws -> Int {
        guard let id = language.tokenizer.id(of: token) else {
            throw VLMError.badInput("\(mmproj.path): the language model \(language.id) has no \(token) token; the pair does not match (projector '\(mmproj.projectorType)')")
        }
        return Int(id)
    }
}
