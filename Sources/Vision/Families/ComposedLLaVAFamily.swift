import VLMRuntime

/// vlm's composed models (the default model, shapes-vlm): a LLaVA config whose LLM is a GGUF
/// file (`text_model_file`: weights, tokenizer and chat template) and whose vision tower is a
/// Hugging Face directory of its own (`vision_model_directory`), both relative to the model
/// directory; only the projector is in the directory's safetensors. Everything after loading
/// is LLaVA's.
final class ComposedLLaVAFamily: LLaVAFamily {
    override class func reads(_ json: [String: Any]) -> Bool {
        super.reads(json) && (json["text_model_file"] is String || json["vision_model_directory"] is String)
    }

    /// The GGUF LLM must speak ChatML: the prompt layout is LLaVA-OneVision's media-first ChatML.
    override class func loadLanguageModel(config: VLMConfig, directory: String, checkpoint: SafetensorsCheckpoint) throws
        -> (model: LanguageModel, template: String?) {
        guard let file = config.textModelFile else {
            return try HFCheckpointLayout.loadLanguageModel(config: config, directory: directory, checkpoint: checkpoint)
        }
        let language = try LanguageModel.load(path: resolve(file, relativeTo: directory))
        guard case .chatML = language.chatTemplate else {
            throw VLMError.unsupported("\(directory): a composed model needs a ChatML LLM (\(file) has another chat template)")
        }
        return (language, "<|im_start|>")   // the layout LLaVA's promptFormat maps to media-first ChatML
    }

    override class func loadVisionTower(config: VLMConfig, directory: String, checkpoint: SafetensorsCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject) {
        guard let visionDirectory = config.visionModelDirectory else {
            return try HFCheckpointLayout.loadVisionTower(config: config, directory: directory, checkpoint: checkpoint)
        }
        let tower = try SafetensorsCheckpoint(directory: resolve(visionDirectory, relativeTo: directory))
        return (try VisionTowerLoader.load(checkpoint: tower, visionConfig: config.visionConfig, prefix: ""), tower)
    }
}
