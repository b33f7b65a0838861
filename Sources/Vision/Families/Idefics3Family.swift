import Prune
import VLMRuntime

/// Idefics3 and SmolVLM (`Idefics3ForConditionalGeneration`, `SmolVLMForConditionalGeneration`):
/// the image is split into 512-px tiles (rows x cols) plus a global image; each tile's SigLIP
/// features (last layer, post-layernorm) go through a pixel-shuffle connector (space-to-depth
/// by `scale_factor`, then one linear layer), so reducers work on the connector's outputs and
/// grid. In the prompt each tile is framed by `<fake_token_around_image><row_r_col_c>`, rows
/// end with a newline, and the global image is `<global-img>` after a blank line.
final class Idefics3Family: VLMFamily {
    static let modelTypes = ["idefics3", "smolvlm"]
    static let defaultVisionFeatureLayer = -1
    static let defaultTextModelType = "llama"

    static func check(_ config: VLMConfig, source: String) throws {
        try FamilyChecks.refuseFeatureExtras(config, source: source)
    }

    static let mmprojProjectorTypes = ["idefics3"]

    /// llama.cpp's SmolVLMModel converter: SigLIP under v.*, the connector's linear layer as
    /// `mm.model.fc.weight`, `clip.vision.projector.scale_factor` and the processor's
    /// `size.longest_edge` as `clip.vision.preproc_image_size`; tiles are `image_size` wide.
    static func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        var names = MMProjTensorNames.tower(prefix: "model.vision_model.", of: m)
        names.map("mm.model.fc", "model.connector.modality_projection.proj")
        let scale = try m.file.intIfPresent("clip.vision.projector.scale_factor") ?? 2
        let longest = try m.file.intIfPresent("clip.vision.preproc_image_size") ?? 4 * m.imageSize
        guard scale > 0, (m.imageSize / m.patchSize) % scale == 0, longest > 0, longest <= MMProjFile.limits.imageSize else {
            throw VLMError.badInput("\(m.path): scale_factor \(scale) or preproc_image_size \(longest) does not fit \(m.imageSize)-px tiles of \(m.patchSize)-px patches")
        }
        let config: [String: Any] = [
            "model_type": "idefics3", "vision_config": MMProjLayout.visionConfig(m, modelType: "idefics3_vision"), "scale_factor": scale,
            "image_token_id": try MMProjLayout.tokenID("<image>", in: language, mmproj: m)]
        let preprocessor: [String: Any] = [
            "image_processor_type": "Idefics3ImageProcessor", "size": ["longest_edge": longest],
            "max_image_size": ["longest_edge": m.imageSize], "do_image_splitting": true, "resample": 1,
            "image_mean": m.imageMean.map(Double.init), "image_std": m.imageStd.map(Double.init)]
        return MMProjLayout(config: config, preprocessor: preprocessor, names: names)
    }

    let connector: (any PatchConnector)?
    var projector: MLPProjector? { nil }
    /// HuggingFaceTB/SmolVLM-256M-Instruct's template.
    static let fallbackChatTemplate = ChatTemplateFallback.Fallback(name: "SmolVLM", source: """
        <|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>
        {% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}
        """)

    init(config: VLMConfig, checkpoint ck: TensorCheckpoint, encoder: any VisionEncoder, textHiddenSize: Int,
         directory: String) throws {
        let prefix = HFCheckpointLayout.prefix(["model.connector.", "connector."], holding: "modality_projection.proj.weight", in: ck)
        connector = try PixelShuffleConnector(checkpoint: ck, prefix: prefix, scale: config.int("scale_factor") ?? 2)
    }

    var featureRequest: EncoderRequest { EncoderRequest(featureLayer: -1, applyPostLayerNorm: true) }
    var keepsClassToken: Bool { false }

    func cropGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction) throws -> ThumbnailGuidance? { nil }

    /// Tiles in raster order, then the global image; each tile's count kept for its markers.
    func pack(_ image: ProcessedImage, pieces: [ReducedPiece], width: Int, reduced: Bool) throws -> ImageEmbedding {
        let all = Array(pieces.map(\.rows).joined())
        return ImageEmbedding(rows: all, count: all.count / width, tileCounts: pieces.map(\.count), layout: image.layout,
                              visualBefore: pieces.reduce(0) { $0 + $1.fullCount })
    }

    func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int) {
        throw VLMError.unsupported("video input is implemented for LLaVA and LLaVA-OneVision models (this is an Idefics3/SmolVLM model)")
    }
    var videoSuffix: [Float]? { nil }

    func placeholder(for image: ImageEmbedding) -> String {
        let around = "<fake_token_around_image>", global = "<global-img>"
        func tokens(_ n: Int) -> String { String(repeating: "<image>", count: n) }
        if case .split(let rows, let cols) = image.layout, rows * cols > 0, image.tileCounts.count == rows * cols + 1 {
            var s = ""
            for r in 0..<rows {
                for c in 0..<cols { s += around + "<row_\(r + 1)_col_\(c + 1)>" + tokens(image.tileCounts[r * cols + c]) }
                s += "\n"
            }
            return s + "\n" + around + global + tokens(image.tileCounts.last!) + around
        }
        return around + global + tokens(image.count) + around
    }
}
