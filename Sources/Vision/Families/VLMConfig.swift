import Foundation
import VLMRuntime

/// The parts of a Hugging Face VLM `config.json` that choose how images become LLM tokens.
/// Defaults are those of transformers' config classes, so a checkpoint that omits a key means
/// what transformers would make of it.
public struct VLMConfig {
    /// The family that reads this checkpoint (VLMFamilyRegistry).
    let family: any VLMFamily.Type
    /// The whole config.json, for the keys only one family reads.
    let json: [String: Any]
    /// `model_type` as written (e.g. "smolvlm", read by the Idefics3 family).
    public var modelType: String
    public var textConfig: [String: Any]
    public var visionConfig: [String: Any]
    public var imageTokenID: Int32
    public var videoTokenID: Int32?
    /// Hugging Face `hidden_states` index of the features fed to the projector.
    public var visionFeatureLayer: Int
    /// "default" drops the class token; "full" keeps every token.
    public var dropsClassToken: Bool
    public var projectorActivation: Activation
    public var projectorHasBias: Bool
    /// The placeholder the prompt carries for each visual token (`image_token`): `<image>` in
    /// Hugging Face checkpoints; a composed model whose LLM has no such token names an existing
    /// special token instead.
    public var imageToken: String
    /// A composed model (vlm's own default model) takes its LLM from a GGUF file
    /// (`text_model_file`) and its vision tower from a Hugging Face directory
    /// (`vision_model_directory`), both relative to the model directory, rather than from the
    /// directory's own safetensors.
    public var textModelFile: String?
    public var visionModelDirectory: String?
    /// Apply the vision tower's final layer norm to the selected features
    /// (`vision_feature_layernorm`; DINOv2's own output is post-norm).
    public var visionFeatureLayerNorm: Bool
    /// Per-patch numbers appended to the patch features before the projector
    /// (`vision_feature_extras`; an option of vlm's composed models, unknown to Hugging Face).
    public var visionFeatureExtras: [VisionFeatureExtra]

    public init(json j: [String: Any], source: String) throws {
        func obj(_ k: String) throws -> [String: Any] {
            guard let o = j[k] as? [String: Any] else { throw VLMError.badInput("\(source): missing object '\(k)'") }
            return o
        }
        modelType = j["model_type"] as? String ?? ""
        let architectures = j["architectures"] as? [String] ?? []
        guard let family = VLMFamilyRegistry.family(for: j) else {
            throw VLMError.unsupported("\(source): model_type '\(modelType)' \(architectures) is not a supported vision-language model (supported: \(Self.supportedModelTypes.joined(separator: ", ")))")
        }
        self.family = family
        json = j
        textModelFile = j["text_model_file"] as? String
        visionModelDirectory = j["vision_model_directory"] as? String
        imageToken = j["image_token"] as? String ?? "<image>"
        visionFeatureLayerNorm = j["vision_feature_layernorm"] as? Bool ?? false
        visionFeatureExtras = try (j["vision_feature_extras"] as? [String] ?? []).map { name in
            guard let extra = VisionFeatureExtra(rawValue: name) else {
                throw VLMError.unsupported("\(source): vision_feature_extras entry '\(name)' (supported: \(VisionFeatureExtra.allCases.map(\.rawValue)))")
            }
            return extra
        }
        // A composed model's text config is the GGUF file's own.
        // transformers 4's Qwen2-VL-style configs keep the text model's keys at the top level.
        textConfig = textModelFile != nil ? (j["text_config"] as? [String: Any] ?? [:])
            : (j["text_config"] == nil && j["hidden_size"] != nil ? j : try obj("text_config"))
        visionConfig = try obj("vision_config")
        // transformers 5 writes tiny configs' text_config without model_type defaults filled in.
        if textConfig["model_type"] == nil {
            textConfig["model_type"] = family.defaultTextModelType
        }
        func int(_ keys: [String]) -> Int? {
            for k in keys { if let v = (j[k] as? NSNumber)?.intValue { return v } }
            return nil
        }
        guard let image = int(["image_token_id", "image_token_index"]) else {
            throw VLMError.badInput("\(source): missing image_token_id")
        }
        imageTokenID = Int32(image)
        videoTokenID = int(["video_token_id", "video_token_index"]).map(Int32.init)
        if let layers = j["vision_feature_layer"] as? [Any], layers.count != 1 {
            throw VLMError.unsupported("\(source): several vision_feature_layer values are not supported")
        }
        visionFeatureLayer = int(["vision_feature_layer"]) ?? ((j["vision_feature_layer"] as? [NSNumber])?.first?.intValue
                                                                  ?? family.defaultVisionFeatureLayer)
        dropsClassToken = (j["vision_feature_select_strategy"] as? String ?? "default") == "default"
        let act = j["projector_hidden_act"] as? String ?? "gelu"
        guard let activation = Activation(huggingFaceName: act) else { throw VLMError.unsupported("\(source): projector_hidden_act '\(act)'") }
        projectorActivation = activation
        projectorHasBias = (j["multimodal_projector_bias"] as? Bool) ?? true
        try family.check(self, source: source)
    }

    /// An integer key of config.json (JSON numbers of any kind), the first of `keys` present.
    func int(_ keys: String...) -> Int? {
        for k in keys { if let v = (json[k] as? NSNumber)?.intValue { return v } }
        return nil
    }

    public static func load(directory: String) throws -> VLMConfig {
        let path = directory + "/config.json"
        guard let data = (try SmallFile.read(path)),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw VLMError.badInput("\(path): missing or not a JSON object") }
        return try VLMConfig(json: json, source: path)
    }

    /// Whether `directory` holds a vision-language model rather than a text-only LLM.
    public static func isVisionLanguageModel(directory: String) -> Bool {
        guard let data = ((try? SmallFile.read(directory + "/config.json")) ?? nil),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        return json["vision_config"] != nil
    }
}
