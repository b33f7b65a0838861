import Prune
import VLMRuntime

/// LLaVA-1.5 (`LlavaForConditionalGeneration`): one resized image, the vision tower's
/// features at `vision_feature_layer` (-2 by default), class token dropped ("default"
/// strategy) or kept ("full"), a two-layer MLP projector, one `<image>` token per visual token.
/// A video is read as its frames' image tokens one after another under the image placeholder
/// (vlm's default model reads videos this way).
///
/// LLaVA-NeXT and LLaVA-OneVision subclass this family, as transformers derives them.
class LLaVAFamily: VLMFamily {
    class var modelTypes: [String] { ["llava"] }
    class func reads(_ json: [String: Any]) -> Bool { modelTypes.contains(json["model_type"] as? String ?? "") }
    class var defaultVisionFeatureLayer: Int { -2 }
    class var defaultTextModelType: String { "llama" }

    /// Feature extras (vlm's per-patch numbers before the projector) need the plain patch grid.
    class func check(_ config: VLMConfig, source: String) throws {
        if !config.visionFeatureExtras.isEmpty && !config.dropsClassToken {
            throw VLMError.unsupported("\(source): vision_feature_extras is implemented for llava models with the class token dropped only")
        }
    }

    // The two loaders restate VLMFamily's defaults as class methods so that ComposedLLaVAFamily
    // can override them (a subclass cannot override a protocol extension's default).
    class func loadLanguageModel(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (model: LanguageModel, template: String?) {
        try HFCheckpointLayout.loadLanguageModel(config: config, directory: directory, checkpoint: checkpoint)
    }

    class func loadVisionTower(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject) {
        try HFCheckpointLayout.loadVisionTower(config: config, directory: directory, checkpoint: checkpoint)
    }

    /// llava-hf/llava-1.5-7b-hf's template: `USER: <image>\n... ASSISTANT:`.
    class var fallbackChatTemplate: ChatTemplateFallback.Fallback {
        ChatTemplateFallback.Fallback(name: "LLaVA-1.5", source: """
            {% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}
            """)
    }

    class var mmprojProjectorTypes: [String] { ["mlp"] }
    /// LLaVA-1.5's files have no AnyRes grid (LLaVA-NeXT's do).
    class func readsMMProj(_ m: MMProjFile) -> Bool { m.projectorType == "mlp" && !m.hasAnyResGrid }

    /// llama.cpp's legacy LLaVA converter (tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py;
    /// convert_hf_to_gguf.py converts no CLIP LLaVA): CLIP under v.* with the blocks past the
    /// feature layer dropped, no post-layernorm, the projector as mm.0 and mm.2, and
    /// `clip.vision.feature_layer` as a non-negative hidden-states index (absent: the
    /// second-to-last block, as clip.cpp reads it). The processor is CLIP's: shortest edge to
    /// image_size, centre crop, bicubic.
    class func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        var names = MMProjTensorNames.tower(prefix: "vision_tower.vision_model.", of: m)
        names.map("mm.0", "multi_modal_projector.linear_1")
        names.map("mm.2", "multi_modal_projector.linear_2")
        names.mapExact("model.image_newline", "image_newline")
        let layers = try m.featureLayers() ?? [-2]
        guard layers.count == 1, let layer = layers.first, layer <= m.layerCount else {
            throw VLMError.unsupported("\(m.path): clip.vision.feature_layer \(layers) (one layer within \(m.layerCount) blocks is supported)")
        }
        let config: [String: Any] = [
            "model_type": modelTypes[0], "vision_config": MMProjLayout.visionConfig(m, modelType: m.contains("v.class_embd") ? "clip_vision_model" : "siglip_vision_model"),
            "vision_feature_layer": layer, "vision_feature_select_strategy": "default", "projector_hidden_act": "gelu",
            "multimodal_projector_bias": m.contains("mm.0.bias"),
            "image_token_index": try MMProjLayout.tokenID("<image>", in: language, mmproj: m)]
        let preprocessor: [String: Any] = [
            "image_processor_type": "CLIPImageProcessor", "size": ["shortest_edge": m.imageSize],
            "crop_size": ["height": m.imageSize, "width": m.imageSize], "do_center_crop": true, "resample": 3,
            "image_mean": m.imageMean.map(Double.init), "image_std": m.imageStd.map(Double.init)]
        return MMProjLayout(config: config, preprocessor: preprocessor, names: names)
    }

    let config: VLMConfig
    let projector: MLPProjector?
    var connector: (any PatchConnector)? { nil }
    required init(config: VLMConfig, checkpoint ck: TensorCheckpoint, encoder: any VisionEncoder, textHiddenSize: Int,
                  directory: String) throws {
        self.config = config
        let prefix = HFCheckpointLayout.prefix(["multi_modal_projector.", "model.multi_modal_projector."], holding: "linear_1.weight", in: ck)
        let projector = try MLPProjector(checkpoint: ck, prefix: prefix, activation: config.projectorActivation, bias: config.projectorHasBias)
        guard projector.outFeatures == textHiddenSize else {
            throw VLMError.badInput("\(directory): projector output \(projector.outFeatures) != LLM width \(textHiddenSize)")
        }
        let extrasWidth = VisionFeatureExtra.width(of: config.visionFeatureExtras)
        guard projector.inFeatures == encoder.hiddenSize + extrasWidth else {
            throw VLMError.badInput("\(directory): projector input \(projector.inFeatures) != vision width \(encoder.hiddenSize)"
                                    + (extrasWidth > 0 ? " + \(extrasWidth) feature extras" : ""))
        }
        self.projector = projector
    }

    var featureRequest: EncoderRequest {
        EncoderRequest(featureLayer: config.visionFeatureLayer, applyPostLayerNorm: config.visionFeatureLayerNorm)
    }
    var keepsClassToken: Bool { !config.dropsClassToken }

    func cropGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction) throws -> ThumbnailGuidance? { nil }

    /// Every encoded piece's tokens in order (one piece for a LLaVA-1.5 image).
    func pack(_ image: ProcessedImage, pieces: [ReducedPiece], width: Int, reduced: Bool) throws -> ImageEmbedding {
        let all = Array(pieces.map(\.rows).joined())
        return ImageEmbedding(rows: all, count: all.count / width, tileCounts: pieces.map(\.count), layout: image.layout,
                              visualBefore: pieces.reduce(0) { $0 + $1.fullCount })
    }

    func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int) { (frame.rows, frame.gridRows) }
    var videoSuffix: [Float]? { nil }

    func placeholder(for image: ImageEmbedding) -> String { String(repeating: config.imageToken, count: image.count) }
}
