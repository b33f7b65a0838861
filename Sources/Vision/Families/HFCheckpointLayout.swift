import VLMRuntime

/// Where the parts of a Hugging Face vision-language checkpoint sit among its tensors. The
/// layouts differ by transformers version and by how a checkpoint was saved, not by family:
/// transformers 5 saves `language_model.model.` (LLaVA) or `model.text_model.` (Idefics3),
/// Hub checkpoints also `model.language_model.`; the vision tower likewise.
enum HFCheckpointLayout {
    static let textPrefixes = ["language_model.model.", "model.language_model.", "model.text_model.", "text_model.model.", "model."]
    static let visionPrefixes = ["vision_tower.vision_model.", "model.vision_tower.vision_model.", "vision_tower.",
                                 "model.vision_tower.", "model.vision_model.", "vision_model."]
    static let patchEmbeddingStems = ["embeddings.patch_embedding.weight", "embeddings.patch_embeddings.projection.weight"]

    /// The checkpoint's own LLM: decoder from `text_config`, tokenizer.json, and the chat
    /// template the tokenizer stores (chat_template.jinja or tokenizer_config.json), if any.
    static func loadLanguageModel(config: VLMConfig, directory: String, checkpoint ck: TensorCheckpoint) throws
        -> (model: LanguageModel, template: String?) {
        guard let textPrefix = textPrefixes.first(where: { ck.contains($0 + "embed_tokens.weight") }) else {
            throw VLMError.badInput("\(directory): no language-model embeddings found (looked for \(textPrefixes.map { $0 + "embed_tokens.weight" }))")
        }
        let headName = ["language_model.lm_head.weight", "lm_head.weight"].first(where: ck.contains) ?? "lm_head.weight"
        let textConfig = try HFDecoderLoader.config(fromJSON: config.textConfig, source: directory + "/config.json (text_config)")
        let decoder = try HFDecoderLoader.load(config: textConfig, checkpoint: ck, prefix: textPrefix, lmHeadName: headName)
        let vocabulary = try TokenizerJSONLoader.load(directory: directory)
        let chat = try ChatTemplate.load(text: vocabulary.chatTemplate, origin: directory + " (tokenizer chat template)",
                                         vocabulary: vocabulary, architecture: config.textConfig["model_type"] as? String)
        let name = String(directory.split(separator: "/").last ?? Substring(directory))
        let model = LanguageModel(id: name, decoder: decoder, tokenizer: try makeTokenizer(vocabulary), chatTemplate: chat, source: nil)
        return (model, vocabulary.chatTemplate)
    }

    /// The checkpoint's own vision tower, at the first prefix that holds a patch embedding.
    static func loadVisionTower(config: VLMConfig, directory: String, checkpoint ck: TensorCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject) {
        guard let prefix = visionPrefixes.first(where: { p in patchEmbeddingStems.contains { ck.contains(p + $0) } }) else {
            throw VLMError.badInput("\(directory): no vision tower found")
        }
        return (try VisionTowerLoader.load(checkpoint: ck, visionConfig: config.visionConfig, prefix: prefix), ck)
    }

    /// The first of `prefixes` under which `stem` exists, else the first prefix (whose missing
    /// tensor the loader then names in its error).
    static func prefix(_ prefixes: [String], holding stem: String, in ck: TensorCheckpoint) -> String {
        prefixes.first { ck.contains($0 + stem) } ?? prefixes[0]
    }
}

/// Whether `path` as written in config.json is absolute; else it is relative to the model directory.
func resolve(_ path: String, relativeTo directory: String) -> String {
    path.hasPrefix("/") ? path : directory + "/" + path
}
