import Foundation
import Prune
import VLMRuntime

/// Qwen2.5-VL (`Qwen2_5_VLForConditionalGeneration`): images at their own aspect ratio
/// (QwenVLProcessor), a windowed ViT with 2-D rotary positions (QwenVisionTower), a 2x2 patch
/// merger to LLM width (QwenPatchMerger, the connector, so reducers work on the tokens the LLM
/// reads), and a Qwen2 LLM with multimodal RoPE: each visual token carries its row and column
/// (and frame-group) as positions (`VisualPositionRun`, PromptPositions). In the prompt the
/// template writes `<|vision_start|><|image_pad|><|vision_end|>` and the processor repeats
/// `<|image_pad|>` once per visual token.
///
/// Reducers: the tower has no class token, so attention-based reducers take their no-class
/// variants (VisionZip: the attention each token receives, averaged over queries; HiPrune and
/// the others likewise), on maps pooled to the merged grid; in window blocks a map is zero
/// between windows. Kept tokens keep their original 3-D positions and raster order, and the
/// text after an image sits where it would without a reducer.
class Qwen2_5_VLFamily: VLMFamily {
    class var modelTypes: [String] { ["qwen2_5_vl"] }
    class var defaultVisionFeatureLayer: Int { -1 }
    class var defaultTextModelType: String { "qwen2_5_vl_text" }
    class var visionVariant: QwenVisionConfig.Variant { .qwen2_5 }
    static let visionPrefixes = ["model.visual.", "visual."]

    class func check(_ config: VLMConfig, source: String) throws {
        try FamilyChecks.refuseFeatureExtras(config, source: source)
    }

    class func loadVisionTower(config: VLMConfig, directory: String, checkpoint ck: TensorCheckpoint) throws
        -> (encoder: any VisionEncoder, weights: AnyObject) {
        let prefix = HFCheckpointLayout.prefix(visionPrefixes, holding: "patch_embed.proj.weight", in: ck)
        return (try QwenVisionTower(checkpoint: ck, visionConfig: config.visionConfig, variant: visionVariant, prefix: prefix), ck)
    }

    class var mmprojProjectorTypes: [String] { ["qwen2.5vl_merger"] }
    class func readsMMProj(_ m: MMProjFile) -> Bool { mmprojProjectorTypes.contains(m.projectorType) }

    /// llama.cpp's Qwen2VLVisionModel converter: the fused qkv split into attn_q/k/v, the Conv3d
    /// patch embedding split into its two time slices (v.patch_embd.weight, .weight.1), the
    /// merger's norm as v.post_ln and its MLP as mm.0/mm.2, the full-attention blocks as
    /// `clip.vision.n_wa_pattern` (block i is global when (i + 1) % n == 0). The window size
    /// and the processor's pixel bounds are not written: transformers' defaults (112 px;
    /// 56x56 to 28x28x16384 pixels) stand, as they do in clip.cpp.
    class func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        var names = MMProjTensorNames()
        let p = "visual."
        names.combine(p + "patch_embed.proj.weight", from: ["v.patch_embd.weight", "v.patch_embd.weight.1"], .timeSlices)
        for i in 0..<m.layerCount {
            let b = "v.blk.\(i).", l = p + "blocks.\(i)."
            for suffix in [".weight", ".bias"] {
                names.combine(l + "attn.qkv" + suffix, from: ["attn_q", "attn_k", "attn_v"].map { b + $0 + suffix }, .concatenated)
            }
            names.map(b + "attn_out", l + "attn.proj")
            names.map(b + "ffn_gate", l + "mlp.gate_proj")
            names.map(b + "ffn_up", l + "mlp.up_proj")
            names.map(b + "ffn_down", l + "mlp.down_proj")
            names.map(b + "ln1", l + "norm1")
            names.map(b + "ln2", l + "norm2")
        }
        names.map("v.post_ln", p + "merger.ln_q")
        names.map("mm.0", p + "merger.mlp.0")
        names.map("mm.2", p + "merger.mlp.2")
        let pattern = try m.file.intIfPresent("clip.vision.n_wa_pattern")
        guard pattern.map({ $0 > 0 }) ?? true else { throw VLMError.badInput("\(m.path): clip.vision.n_wa_pattern must be positive") }
        let vision: [String: Any] = [
            "model_type": "qwen2_5_vl_vision", "hidden_size": m.hiddenSize, "depth": m.layerCount, "num_heads": m.headCount,
            "intermediate_size": m.intermediateSize, "patch_size": m.patchSize, "temporal_patch_size": 2,
            "spatial_merge_size": try m.file.intIfPresent("clip.vision.spatial_merge_size") ?? 2,
            "out_hidden_size": m.projectionDim ?? language.decoder.config.hiddenSize,
            "window_size": try m.file.intIfPresent("clip.vision.window_size") ?? 112, "hidden_act": m.activationName,
            "fullatt_block_indexes": pattern.map { n in (0..<m.layerCount).filter { ($0 + 1) % n == 0 } } ?? []]
        var config: [String: Any] = [
            "model_type": modelTypes[0], "vision_config": vision,
            "image_token_id": try MMProjLayout.tokenID("<|image_pad|>", in: language, mmproj: m)]
        if let video = language.tokenizer.id(of: "<|video_pad|>") { config["video_token_id"] = Int(video) }
        let preprocessor = try qwenPreprocessor(m, minPixels: 56 * 56, maxPixels: 28 * 28 * 16384)
        return MMProjLayout(config: config, preprocessor: preprocessor, names: names)
    }

    /// The image processor of a Qwen pair: clip.vision.image_min_pixels / image_max_pixels when
    /// the file states them, else the bounds given (the family's, which the converter does not write).
    static func qwenPreprocessor(_ m: MMProjFile, minPixels: Int, maxPixels: Int) throws -> [String: Any] {
        ["image_processor_type": "Qwen2VLImageProcessor", "patch_size": m.patchSize, "merge_size": 2, "temporal_patch_size": 2,
         "size": ["shortest_edge": try m.file.intIfPresent("clip.vision.image_min_pixels") ?? minPixels,
                  "longest_edge": try m.file.intIfPresent("clip.vision.image_max_pixels") ?? maxPixels],
         "resample": 3, "image_mean": m.imageMean.map(Double.init), "image_std": m.imageStd.map(Double.init)]
    }

    let merger: QwenPatchMerger
    let tower: QwenVisionTower
    /// `vision_config.tokens_per_second`: temporal positions per second of video (Qwen2.5-VL).
    let tokensPerSecond: Int
    var connector: (any PatchConnector)? { merger }
    var projector: MLPProjector? { nil }
    var keepsClassToken: Bool { false }
    var featureRequest: EncoderRequest { EncoderRequest(featureLayer: -1, taps: merger.taps) }
    var imageMarker: String { "<|image_pad|>" }
    var videoMarker: String { "<|video_pad|>" }

    required init(config: VLMConfig, checkpoint ck: TensorCheckpoint, encoder: any VisionEncoder, textHiddenSize: Int,
                  directory: String) throws {
        guard let tower = encoder as? QwenVisionTower else { throw VLMError.badInput("\(directory): the vision tower is not Qwen-VL's") }
        self.tower = tower
        tokensPerSecond = (config.visionConfig["tokens_per_second"] as? NSNumber)?.intValue ?? 4
        let prefix = HFCheckpointLayout.prefix(Self.visionPrefixes, holding: "patch_embed.proj.weight", in: ck)
        merger = try QwenPatchMerger(checkpoint: ck, prefix: prefix, config: tower.config)
        guard tower.config.outHiddenSize == textHiddenSize else {
            throw VLMError.badInput("\(directory): vision out_hidden_size \(tower.config.outHiddenSize) is not the LLM's width \(textHiddenSize)")
        }
    }

    /// Qwen/Qwen2.5-VL-7B-Instruct's template (Qwen2-VL's): a default system message when the
    /// conversation has none.
    class var fallbackChatTemplate: ChatTemplateFallback.Fallback { qwen2VLTemplate }
    static let qwen2VLTemplate = ChatTemplateFallback.Fallback(name: "Qwen2.5-VL", source: """
        {% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system
        You are a helpful assistant.<|im_end|>
        {% endif %}<|im_start|>{{ message['role'] }}
        {% if message['content'] is string %}{{ message['content'] }}<|im_end|>
        {% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>
        {% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
        {% endif %}
        """)

    func cropGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction) throws -> ThumbnailGuidance? { nil }

    /// The merged tokens in raster order of the merged grid (a reducer's kept and merged tokens
    /// sorted back into it), each at its own row and column.
    func pack(_ image: ProcessedImage, pieces: [ReducedPiece], width: Int, reduced: Bool) throws -> ImageEmbedding {
        guard let piece = pieces.first, pieces.count == 1 else { throw VLMError.badInput("a Qwen-VL image is one encoder image") }
        let (rows, companions, positions) = Self.rasterOrder(piece, width: width)
        var e = ImageEmbedding(rows: rows, count: positions.count, tileCounts: [positions.count], layout: .single, visualBefore: piece.fullCount)
        e.companions = companions
        e.positionRuns = [Self.run(positions, gridCols: piece.gridCols, advance: max(piece.gridRows, piece.gridCols))]
        return e
    }

    /// A piece's rows (and companion rows) sorted by grid position, with the sorted positions.
    static func rasterOrder(_ piece: ReducedPiece, width d: Int) -> (rows: [Float], companions: [[Float]], positions: [Int]) {
        let order = piece.positions.indices.sorted { (piece.positions[$0], $0) < (piece.positions[$1], $1) }
        func gather(_ values: [Float]) -> [Float] { order.flatMap { values[($0 * d)..<(($0 + 1) * d)] } }
        return (gather(piece.rows), piece.companions.map(gather), order.map { max(0, piece.positions[$0]) })
    }

    /// Positions of tokens at `positions` (merged-grid raster indices) of one frame-group,
    /// temporal offset `temporal`.
    static func run(_ positions: [Int], gridCols: Int, advance: Int, temporal: Int32 = 0) -> VisualPositionRun {
        VisualPositionRun(temporal: [Int32](repeating: temporal, count: positions.count),
                          height: positions.map { Int32($0 / gridCols) }, width: positions.map { Int32($0 % gridCols) },
                          advance: Int32(advance))
    }

    func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int) {
        throw VLMError.unsupported("Qwen-VL encodes video frames in pairs (embedVideo)")
    }
    var videoSuffix: [Float]? { nil }

    /// The frames' rate when their times are not known: transformers' video processor assumes
    /// 2 frames per second.
    class var defaultFramesPerSecond: Double { 2 }

    func embedVideo(_ frames: PixelBatch, in model: VisionLanguageModel, reduction: TokenReduction?,
                    frameSeconds: [Double]?) throws -> ImageEmbedding? {
        try QwenVideoEmbedding.embed(frames, family: self, model: model, reduction: reduction, frameSeconds: frameSeconds)
    }

    /// Qwen2.5-VL: one run over the whole video; frame-group g sits at temporal offset
    /// floor(g * tokens_per_second * second_per_grid_t), second_per_grid_t = temporal patch /
    /// the frames' rate (transformers' `get_vision_position_ids` with `time_interval`).
    func videoRuns(groups: [[Int]], gridRows: Int, gridCols: Int, framesPerSecond fps: Double) -> [VisualPositionRun] {
        let interval = Double(tokensPerSecond) * Double(tower.config.temporalPatchSize) / fps
        var run = VisualPositionRun(temporal: [], height: [], width: [], advance: Int32(max(gridRows, gridCols)))
        for (g, positions) in groups.enumerated() {
            let part = Self.run(positions, gridCols: gridCols, advance: 0, temporal: Int32((Double(g) * interval).rounded(.down)))
            run.temporal += part.temporal; run.height += part.height; run.width += part.width
        }
        return [run]
    }

    func placeholder(for image: ImageEmbedding) -> String { String(repeating: "<|image_pad|>", count: image.count) }
    func videoPlaceholder(for video: ImageEmbedding) -> String { String(repeating: "<|video_pad|>", count: video.count) }
}
