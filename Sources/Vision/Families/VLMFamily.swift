import Prune
import VLMRuntime

/// A vision-language model family: everything that differs between, say, LLaVA-1.5 and
/// SmolVLM, in one type per family (one file each in this folder). The rest of the library
/// (VisionLanguageModel, the pipeline, the CLI) is written against this protocol and never
/// asks which family it holds.
///
/// A family type answers three groups of questions:
/// - reading a checkpoint (static): which `config.json` it reads, its config defaults, how
///   its language model and vision tower are found among the tensors;
/// - its own weights and rules for one checkpoint (an instance, built at load time): the
///   connector (MLP projector, pixel-shuffle connector), which encoder features it feeds;
/// - placing tokens: how the encoded pieces of one image (image, AnyRes crops, tiles) become
///   its visual tokens, how a video's frames do, and what text stands for them in the prompt.
///
/// Families that extend another (LLaVA-NeXT extends LLaVA, LLaVA-OneVision extends NeXT, as
/// transformers' modeling files derive them) subclass it and override what changes.
protocol VLMFamily: AnyObject {
    /// `model_type` values of config.json this family reads.
    static var modelTypes: [String] { get }
    /// Whether this family reads `json`; the registry asks the families in order.
    static func reads(_ json: [String: Any]) -> Bool
    /// `vision_feature_layer` when config.json omits it (transformers' config class default).
    static var defaultVisionFeatureLayer: Int { get }
    /// The text decoder's `model_type` when `text_config` omits it.
    static var defaultTextModelType: String { get }
    /// Family keys and checks of config.json beyond the common ones (VLMConfig).
    static func check(_ config: VLMConfig, source: String) throws

    /// The language model (decoder, tokenizer) and the chat template its tokenizer stores
    /// (used for prompts when the checkpoint has no processor template), if any.
    static func loadLanguageModel(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (model: LanguageModel, template: String?)
    /// The vision tower, and the object that keeps its memory-mapped weights alive.
    static func loadVisionTower(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject)

    /// llama.cpp projector types (`clip.projector_type` of an mmproj GGUF) this family reads.
    static var mmprojProjectorTypes: [String] { get }
    /// Whether this family reads `mmproj` (families that share a projector type tell their
    /// files apart by the rest of the metadata); the registry asks the families in order.
    static func readsMMProj(_ mmproj: MMProjFile) -> Bool
    /// What stands for the Hugging Face directory an mmproj file of this family was converted
    /// from: its config.json, its image processor's config and the tensors' Hugging Face
    /// names. `language`: the pair's LLM (its hidden size, its image token).
    static func mmprojLayout(_ mmproj: MMProjFile, language: LanguageModel) throws -> MMProjLayout

    /// The family's own weights and rules for one checkpoint.
    init(config: VLMConfig, checkpoint: TensorCheckpoint, encoder: any VisionEncoder, textHiddenSize: Int,
         directory: String) throws

    /// The chat template for checkpoints that ship none: the family's published one (its
    /// media parts rendered as the markers `placeholder` expands).
    static var fallbackChatTemplate: ChatTemplateFallback.Fallback { get }
    /// Which encoder output feeds the connector.
    var featureRequest: EncoderRequest { get }
    /// Whether the encoder's class token reaches the LLM (LLaVA's "full" strategy).
    var keepsClassToken: Bool { get }
    /// Projects encoder features to LLM width after reduction (LLaVA families)...
    var projector: MLPProjector? { get }
    /// ...or merges and projects them before reduction (Idefics3's pixel shuffle).
    var connector: (any PatchConnector)? { get }

    /// A reducer's guidance for crop `crop` of an image from its base image (GlobalCom2 on
    /// AnyRes); nil for families without crops.
    func cropGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction) throws -> ThumbnailGuidance?
    /// One image's visual tokens from its encoded pieces, in prompt order, with the count the
    /// model would have without a reducer (`visualBefore`).
    func pack(_ image: ProcessedImage, pieces: [ReducedPiece], width: Int, reduced: Bool) throws -> ImageEmbedding
    /// The tokens one video frame contributes (before any reducer) from its encoded piece, and
    /// the side of their square grid; throws `unsupported` for families that read no video.
    func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int)
    /// Rows appended after a video's frames (LLaVA-OneVision's image_newline), or nil; when
    /// set, the video is placed at the `<video>` marker with the video token.
    var videoSuffix: [Float]? { get }
    /// The prompt text that stands for one image's visual tokens.
    func placeholder(for image: ImageEmbedding) -> String
    /// The markers the chat template writes for an image and a video, which `placeholder` and
    /// `videoPlaceholder` replace (`<image>`, `<video>` unless the family says otherwise).
    var imageMarker: String { get }
    var videoMarker: String { get }
    /// The prompt text that stands for one video's visual tokens.
    func videoPlaceholder(for video: ImageEmbedding) -> String
    /// Whether each image's run of tokens attends to itself both ways inside the causal LLM
    /// (Gemma 3); false for the other families.
    var imageTokensAttendBothWays: Bool { get }
    /// One video's tokens when the family encodes frames its own way (Qwen-VL: frame pairs as
    /// temporal patches); nil: the common path (each frame through `videoFrameTokens`).
    /// `frameSeconds`: the frames' times when known.
    func embedVideo(_ frames: PixelBatch, in model: VisionLanguageModel, reduction: TokenReduction?, frameSeconds: [Double]?) throws -> ImageEmbedding?
}

extension VLMFamily {
    var imageMarker: String { "<image>" }
    var videoMarker: String { "<video>" }
    var imageTokensAttendBothWays: Bool { false }
    func videoPlaceholder(for video: ImageEmbedding) -> String { String(repeating: "<video>", count: video.count) }
    func embedVideo(_ frames: PixelBatch, in model: VisionLanguageModel, reduction: TokenReduction?,
                    frameSeconds: [Double]?) throws -> ImageEmbedding? { nil }

    static func reads(_ json: [String: Any]) -> Bool { modelTypes.contains(json["model_type"] as? String ?? "") }

    static var mmprojProjectorTypes: [String] { [] }
    static func readsMMProj(_ mmproj: MMProjFile) -> Bool { mmprojProjectorTypes.contains(mmproj.projectorType) }
    static func mmprojLayout(_ mmproj: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        throw VLMError.unsupported("\(mmproj.path): projector '\(mmproj.projectorType)' is not read by vlm's \(modelTypes.joined(separator: "/")) family")
    }

    /// A Hugging Face checkpoint's own LLM and vision tower (HFCheckpointLayout).
    static func loadLanguageModel(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (model: LanguageModel, template: String?) {
        try HFCheckpointLayout.loadLanguageModel(config: config, directory: directory, checkpoint: checkpoint)
    }
    static func loadVisionTower(config: VLMConfig, directory: String, checkpoint: TensorCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject) {
        try HFCheckpointLayout.loadVisionTower(config: config, directory: directory, checkpoint: checkpoint)
    }
}
