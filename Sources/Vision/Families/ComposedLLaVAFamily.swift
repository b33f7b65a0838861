import VLMRuntime

/// vlm's composed models (the default model, shapes-vlm): a LLaVA config whose LLM is a GGUF
/// file (`text_model_file`: weights, tokenizer and chat template) and whose vision tower is a
/// Hugging Face directory of its own (`vision_model_directory`), both relative to the model
/// directory; only the projector is in the directory's safetensors. Everything after loading
/// is LLaVA's.
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
        return (try LanguageModel.load(path: resolve(file, relativeTo: directory)), nil)
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
