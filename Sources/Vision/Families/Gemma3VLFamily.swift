import Foundation
import Prune
import VLMRuntime

/// Gemma 3 vision-language models (`Gemma3ForConditionalGeneration`, gemma-3-4b-it and up): one
/// 896-px image through SigLIP (4096 patches, last layer after its post-layernorm), average
/// pooled 4x4 to a 16x16 grid of 256 tokens, normalised (Gemma's RMSNorm, x̂·(1+w)) and projected
/// by `mm_input_projection_weight` (used as x·W). Reducers work on the pooled tokens, the ones the
/// LLM reads. In the prompt each image is `\n\n<start_of_image>`, its soft tokens,
/// `<end_of_image>\n\n`, and each image's soft tokens attend to each other both ways inside the
/// causal LLM (transformers' token_type_ids mask; llama.cpp's non-causal image chunk).
/// The text embedding is scaled by √hidden before the image rows replace the soft tokens, so the
/// image rows are not scaled (the pipeline's splice does the same). With pan-and-scan
/// (`PanAndScanProcessor`) a wide or tall image is read whole and as 2-4 crops, 256 tokens each.
final class Gemma3VLFamily: VLMFamily {
    static let modelTypes = ["gemma3"]
    static let defaultVisionFeatureLayer = -1
    static let defaultTextModelType = "gemma3_text"

    static func check(_ config: VLMConfig, source: String) throws {
        try FamilyChecks.refuseFeatureExtras(config, source: source)
    }

    static let mmprojProjectorTypes = ["gemma3"]

    /// llama.cpp's Gemma3VisionModel converter: SigLIP under v.*, `mm.input_projection.weight`
    /// (forced to f16, same [1152, 2560] layout) and `mm.soft_emb_norm.weight` stored as 1 + w;
    /// `clip.vision.projector.scale_factor` only when the pooling is not 4; the image processor
    /// is Gemma3ImageProcessor at image_size, bilinear; pan-and-scan only with `--pan-and-scan`
    /// (llama.cpp's clip.cpp does not pan and scan).
    static func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        var names = MMProjTensorNames.tower(prefix: "vision_tower.vision_model.", of: m)
        names.mapExact("mm.input_projection.weight", "multi_modal_projector.mm_input_projection_weight")
        names.mapExact("mm.soft_emb_norm.weight", "multi_modal_projector.mm_soft_emb_norm.weight", .plusOne)
        let pool = try m.file.intIfPresent("clip.vision.projector.scale_factor") ?? 4
        let side = m.imageSize / m.patchSize
        guard pool > 0, side % pool == 0 else { throw VLMError.badInput("\(m.path): clip.vision.projector.scale_factor \(pool) does not pool \(side)x\(side) patches") }
        var vision = MMProjLayout.visionConfig(m, modelType: "siglip_vision_model")
        vision["vision_use_head"] = false
        let config: [String: Any] = [
            "model_type": "gemma3", "vision_config": vision, "mm_tokens_per_image": (side / pool) * (side / pool),
            "image_token_index": try MMProjLayout.tokenID("<image_soft_token>", in: language, mmproj: m),
            "boi_token_index": try MMProjLayout.tokenID("<start_of_image>", in: language, mmproj: m),
            "eoi_token_index": try MMProjLayout.tokenID("<end_of_image>", in: language, mmproj: m)]
        let preprocessor: [String: Any] = [
            "image_processor_type": "Gemma3ImageProcessor", "size": ["height": m.imageSize, "width": m.imageSize],
            "resample": 2, "image_mean": m.imageMean.map(Double.init), "image_std": m.imageStd.map(Double.init), "do_pan_and_scan": false]
        return MMProjLayout(config: config, preprocessor: preprocessor, names: names)
    }

    /// google/gemma-3-4b-it's template.
    static let fallbackChatTemplate = ChatTemplateFallback.Fallback(name: "Gemma 3", source: """
        {{ bos_token }}
        {%- if messages[0]['role'] == 'system' -%}
            {%- if messages[0]['content'] is string -%}
                {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}
            {%- else -%}
                {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}
            {%- endif -%}
            {%- set loop_messages = messages[1:] -%}
        {%- else -%}
            {%- set first_user_prefix = "" -%}
            {%- set loop_messages = messages -%}
        {%- endif -%}
        {%- for message in loop_messages -%}
            {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
                {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
            {%- endif -%}
            {%- if (message['role'] == 'assistant') -%}
                {%- set role = "model" -%}
            {%- else -%}
                {%- set role = message['role'] -%}
            {%- endif -%}
            {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else "") }}
            {%- if message['content'] is string -%}
                {{ message['content'] | trim }}
            {%- elif message['content'] is iterable -%}
                {%- for item in message['content'] -%}
                    {%- if item['type'] == 'image' -%}
                        {{ '<start_of_image>' }}
                    {%- elif item['type'] == 'text' -%}
                        {{ item['text'] | trim }}
                    {%- endif -%}
                {%- endfor -%}
            {%- else -%}
                {{ raise_exception("Invalid content type") }}
            {%- endif -%}
            {{ '<end_of_turn>\\n' }}
        {%- endfor -%}
        {%- if add_generation_prompt -%}
            {{'<start_of_turn>model\\n'}}
        {%- endif -%}

        """)

    let connector: (any PatchConnector)?
    var projector: MLPProjector? { nil }

    init(config: VLMConfig, checkpoint ck: TensorCheckpoint, encoder: any VisionEncoder, textHiddenSize: Int,
         directory: String) throws {
        let prefix = HFCheckpointLayout.prefix(["model.multi_modal_projector.", "multi_modal_projector."],
                                               holding: "mm_input_projection_weight", in: ck)
        let tokens = config.int("mm_tokens_per_image") ?? 256
        let side = Int(Double(tokens).squareRoot())
        func visionInt(_ key: String, _ fallback: Int) -> Int { (config.visionConfig[key] as? NSNumber)?.intValue ?? fallback }
        let patchesPerSide = visionInt("image_size", 896) / max(1, visionInt("patch_size", 14))
        guard side * side == tokens, side > 0, patchesPerSide % side == 0 else {
            throw VLMError.badInput("\(directory)/config.json: mm_tokens_per_image \(tokens) does not pool a \(patchesPerSide)x\(patchesPerSide) patch grid")
        }
        let eps = (config.visionConfig["layer_norm_eps"] as? NSNumber)?.floatValue ?? 1e-6
        connector = try Gemma3Projector(checkpoint: ck, prefix: prefix, pool: patchesPerSide / side, visionWidth: encoder.hiddenSize,
                                        textWidth: textHiddenSize, eps: eps)
    }

    var featureRequest: EncoderRequest { EncoderRequest(featureLayer: -1, applyPostLayerNorm: true) }
    var keepsClassToken: Bool { false }
    var imageTokensAttendBothWays: Bool { true }
    var imageMarker: String { "<start_of_image>" }

    func cropGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction) throws -> ThumbnailGuidance? { nil }

    func pack(_ image: ProcessedImage, pieces: [ReducedPiece], width: Int, reduced: Bool) throws -> ImageEmbedding {
        let all = Array(pieces.map(\.rows).joined())
        return ImageEmbedding(rows: all, count: all.count / width, tileCounts: pieces.map(\.count), layout: image.layout,
                              visualBefore: pieces.reduce(0) { $0 + $1.fullCount })
    }

    func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int) {
        throw VLMError.unsupported("Gemma 3 reads images only (this model has no video input)")
    }
    var videoSuffix: [Float]? { nil }

    /// Gemma3Processor's expansion of each `<start_of_image>` the template writes; with
    /// pan-and-scan crops, its `replace_image_token` sentence around the whole image and the crops.
    func placeholder(for image: ImageEmbedding) -> String {
        func sequence(_ n: Int) -> String {
            "\n\n<start_of_image>" + String(repeating: "<image_soft_token>", count: n) + "<end_of_image>\n\n"
        }
        guard case .panAndScan(let crops) = image.layout, crops > 0, image.tileCounts.count == crops + 1 else {
            return sequence(image.count)
        }
        return "Here is the original image " + sequence(image.tileCounts[0]) + " and here are some crops to help you see better "
            + image.tileCounts.dropFirst().map(sequence).joined(separator: " ")
    }
}

/// Gemma3MultiModalProjector: average pooling of the patch grid, then the soft-embedding norm and
/// the input projection.
struct Gemma3Projector: PatchConnector {
    let scale: Int
    let normWeight: [Float]
    let projection: DenseLinear
    let eps: Float

    init(checkpoint ck: TensorCheckpoint, prefix: String, pool: Int, visionWidth: Int, textWidth: Int, eps: Float) throws {
        scale = pool
        self.eps = eps
        normWeight = try ck.floats(named: prefix + "mm_soft_emb_norm.weight")
        let name = prefix + "mm_input_projection_weight"
        guard let info = ck.info(named: name), info.shape == [visionWidth, textWidth], normWeight.count == visionWidth else {
            throw VLMError.badInput("\(ck.directory): '\(name)' is not [\(visionWidth), \(textWidth)] (or its norm not \(visionWidth) wide): the projector does not match the vision tower and the LLM")
        }
        // Stored [in, out] and used as x·W: transposed once into a linear layer's [out, in].
        let w = try ck.floats(named: name)
        var t = [Float](repeating: 0, count: w.count)
        for i in 0..<visionWidth { for o in 0..<textWidth { t[o * visionWidth + i] = w[i * textWidth + o] } }
        projection = try DenseLinear(weight: t, outFeatures: textWidth, inFeatures: visionWidth, bias: nil, name: name)
    }

    var outputWidth: Int { projection.outFeatures }

    func merge(_ output: EncoderOutput, patches: [Float], dim: Int) throws -> MergedPatches {
        let rows = output.gridRows, cols = output.gridCols
        guard rows % scale == 0, cols % scale == 0, patches.count == rows * cols * dim else {
            throw VLMError.badInput("a \(rows)x\(cols) patch grid does not pool by \(scale)")
        }
        let outRows = rows / scale, outCols = cols / scale, n = outRows * outCols
        var pooled = [Float](repeating: 0, count: n * dim)
        let inverse = 1 / Float(scale * scale)
        patches.withUnsafeBufferPointer { src in pooled.withUnsafeMutableBufferPointer { dst in
            for r in 0..<rows {
                for c in 0..<cols {
                    let from = src.baseAddress! + (r * cols + c) * dim
                    let to = dst.baseAddress! + ((r / scale) * outCols + c / scale) * dim
                    for j in 0..<dim { to[j] += from[j] }
                }
            }
            for i in 0..<(n * dim) { dst[i] *= inverse }
            normWeight.withUnsafeBufferPointer { w in
                Norms.rmsNorm(dst.baseAddress!, dst.baseAddress!, rows: n, width: dim, weight: w.baseAddress!, eps: eps, weightOffset: 1)
            }
        }}
        return MergedPatches(rows: projection(pooled, rows: n))
    }
}
