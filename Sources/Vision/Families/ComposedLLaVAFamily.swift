import Foundation
import VLMRuntime

/// vlm's composed models (the default model, shapes-vlm): a LLaVA config whose LLM is a GGUF
/// file (`text_model_file`: weights, tokenizer and chat template) and whose vision tower is a
/// Hugging Face directory of its own (`vision_model_directory`), both relative to the model
/// directory; only the projector is in the directory's safetensors. An adapter trained with it
/// (`text_adapter`: {"file", "scale", "base_sha256"}, a LoRA GGUF in llama.cpp's format) is
/// applied beside the GGUF's weights, never merged into them. Everything after loading is LLaVA's.
final class ComposedLLaVAFamily: LLaVAFamily {
    override class func reads(_ json: [String: Any]) -> Bool {
        // A llama.cpp pair (mmproj_file) also names its GGUF LLM but is read by its own family.
        super.reads(json) && json["mmproj_file"] == nil && (json["text_model_file"] is String || json["vision_model_directory"] is String)
    }

    /// vlm's composed models are no llama.cpp pairs.
    override class func readsMMProj(_ m: MMProjFile) -> Bool { false }

    /// vlm's composed models are trained on LLaVA-OneVision's media-first ChatML; the GGUF's own
    /// template is a text-only one, so it is not used for prompts with media.
    override class var fallbackChatTemplate: ChatTemplateFallback.Fallback { LLaVAOneVisionFamily.onevisionTemplate }

    override class func loadLanguageModel(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (model: LanguageModel, template: String?) {
        guard let file = config.textModelFile else {
            return try HFCheckpointLayout.loadLanguageModel(config: config, directory: directory, checkpoint: checkpoint)
        }
        let model = try LanguageModel.load(path: resolve(file, relativeTo: directory))
        if let adapter = config.json["text_adapter"] {
            let named = try ComposedAdapter(adapter, source: directory + "/config.json")
            try model.decoder.apply(LoRAAdapter(path: resolve(named.file, relativeTo: directory), scale: named.scale,
                                                for: model.decoder.config))
        }
        return (model, nil)
    }

    override class func loadVisionTower(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject) {
        guard let visionDirectory = config.visionModelDirectory else {
            return try HFCheckpointLayout.loadVisionTower(config: config, directory: directory, checkpoint: checkpoint)
        }
        let tower = try TensorCheckpoint(directory: resolve(visionDirectory, relativeTo: directory))
        return (try VisionTowerLoader.load(checkpoint: tower, visionConfig: config.visionConfig, prefix: ""), tower)
    }
}

/// config.json's `text_adapter` of a composed model. `base_sha256` names the GGUF the adapter was
/// trained on; scripts/setup.sh checks it when it installs the model (hashing the base at every
/// load would cost more than the load), and the loader checks every factor's shape.
struct ComposedAdapter {
    let file: String
    let scale: Float

    init(_ value: Any, source: String) throws {
        guard let o = value as? [String: Any], let file = o["file"] as? String, !file.isEmpty else {
            throw VLMError.badInput("\(source): text_adapter must be an object with a 'file'")
        }
        self.file = file
        let scale = (o["scale"] as? NSNumber)?.floatValue ?? 1
        guard scale.isFinite, abs(scale) <= 1000 else { throw VLMError.badInput("\(source): text_adapter scale \(scale) is out of range") }
        self.scale = scale
    }
}
