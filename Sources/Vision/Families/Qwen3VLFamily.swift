import Foundation
import Prune
import VLMRuntime

/// Qwen3-VL (`Qwen3VLForConditionalGeneration`): Qwen2.5-VL's layout with Qwen3-VL's tower
/// (LayerNorm/GELU blocks, full attention, an interpolated learned position table), DeepStack
/// (the outputs of some tower blocks, merged by their own mergers, are added to the LLM's hidden
/// states after its first layers at the visual positions; they travel with the merged tokens
/// through any reducer as `companions`), a Qwen3 LLM with interleaved multimodal RoPE, and
/// videos written frame-group by frame-group, each after its timestamp, all at temporal
/// offset 0 (time is in the text).
final class Qwen3VLFamily: Qwen2_5_VLFamily {
    override class var modelTypes: [String] { ["qwen3_vl"] }
    override class var defaultTextModelType: String { "qwen3_vl_text" }
    override class var visionVariant: QwenVisionConfig.Variant { .qwen3 }
    override class var mmprojProjectorTypes: [String] { ["qwen3vl_merger"] }
    /// llama.cpp's Qwen3VLVisionModel converter (conversion/qwen3vl.py): the Conv3d patch
    /// embedding split into its two time slices (v.patch_embd.weight, .weight.1) with its bias,
    /// the position table as v.position_embd, each block's qkv kept fused (v.blk.N.attn_qkv), the
    /// merger as v.post_ln / mm.0 / mm.2, and each DeepStack merger as v.deepstack.L.* with L the
    /// tower block it reads (not its place in the list). The DeepStack blocks are the ones whose
    /// tensors are present, as clip.cpp finds them (it never reads clip.vision.is_deepstack_layers);
    /// the pixel bounds are not written: Qwen3-VL's published preprocessor_config.json stands
    /// (64 to 16,384 merged tokens of 32x32 pixels).
    override class func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        let decoder = language.decoder.config
        guard decoder.family == .qwen3, decoder.mropeAxes != nil else {
            throw VLMError.badInput("\(m.path): projector 'qwen3vl_merger' needs a Qwen3-VL language model (GGUF architecture qwen3vl); \(language.id) is not one")
        }
        var names = MMProjTensorNames()
        let p = "visual."
        names.combine(p + "patch_embed.proj.weight", from: ["v.patch_embd.weight", "v.patch_embd.weight.1"], .timeSlices)
        names.mapExact("v.patch_embd.bias", p + "patch_embed.proj.bias")
        names.map("v.position_embd", p + "pos_embed")
        for i in 0..<m.layerCount {
            let b = "v.blk.\(i).", l = p + "blocks.\(i)."
            names.map(b + "attn_qkv", l + "attn.qkv")
            names.map(b + "attn_out", l + "attn.proj")
            names.map(b + "ffn_up", l + "mlp.linear_fc1")
            names.map(b + "ffn_down", l + "mlp.linear_fc2")
            names.map(b + "ln1", l + "norm1")
            names.map(b + "ln2", l + "norm2")
        }
        names.map("v.post_ln", p + "merger.norm")
        names.map("mm.0", p + "merger.linear_fc1")
        names.map("mm.2", p + "merger.linear_fc2")
        let deepstack = (0..<m.layerCount).filter { m.contains("v.deepstack.\($0).norm.weight") }
        for (k, layer) in deepstack.enumerated() {
            for (gguf, hf) in [("norm", "norm"), ("fc1", "linear_fc1"), ("fc2", "linear_fc2")] {
                names.map("v.deepstack.\(layer).\(gguf)", p + "deepstack_merger_list.\(k).\(hf)")
            }
        }
        if let stated = try language.ggufFile?.intIfPresent("qwen3vl.n_deepstack_layers"), stated != deepstack.count {
            throw VLMError.badInput("\(m.path): the mmproj has \(deepstack.count) DeepStack mergers, the language model \(language.id) expects \(stated); the pair does not match")
        }
        guard let table = m.file.tensor(named: "v.position_embd.weight"), table.shape.count == 2 else {
            throw VLMError.badInput("\(m.path): no 2-D v.position_embd.weight")
        }
        let vision: [String: Any] = [
            "model_type": "qwen3_vl_vision", "hidden_size": m.hiddenSize, "depth": m.layerCount, "num_heads": m.headCount,
            "intermediate_size": m.intermediateSize, "patch_size": m.patchSize, "temporal_patch_size": 2,
            "spatial_merge_size": try m.file.intIfPresent("clip.vision.spatial_merge_size") ?? 2,
            "out_hidden_size": m.projectionDim ?? decoder.hiddenSize, "hidden_act": "gelu_pytorch_tanh",
            "num_position_embeddings": table.shape[1], "deepstack_visual_indexes": deepstack]
        var config: [String: Any] = [
            "model_type": modelTypes[0], "vision_config": vision,
            "image_token_id": try MMProjLayout.tokenID("<|image_pad|>", in: language, mmproj: m)]
        if let video = language.tokenizer.id(of: "<|video_pad|>") { config["video_token_id"] = Int(video) }
        let preprocessor = try qwenPreprocessor(m, minPixels: 65536, maxPixels: 16_777_216)
        return MMProjLayout(config: config, preprocessor: preprocessor, names: names)
    }

    /// Qwen3-VL-Instruct's template, as the fixture script writes it (no default system message).
    override class var fallbackChatTemplate: ChatTemplateFallback.Fallback { qwen3VLTemplate }
    static let qwen3VLTemplate = ChatTemplateFallback.Fallback(name: "Qwen3-VL", source: """
        {%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' }}{%- if message['content'] is string %}{{- message['content'] }}{%- else %}{%- for content in message['content'] %}{%- if content['type'] == 'image' or 'image' in content or 'image_url' in content %}{{- '<|vision_start|><|image_pad|><|vision_end|>' }}{%- elif content['type'] == 'video' or 'video' in content %}{{- '<|vision_start|><|video_pad|><|vision_end|>' }}{%- elif 'text' in content %}{{- content['text'] }}{%- endif %}{%- endfor %}{%- endif %}{{- '<|im_end|>\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
        """)

    /// Frames given without times are taken at 24 per second, as transformers' Qwen3-VL
    /// processor assumes when a video has no metadata.
    override class var defaultFramesPerSecond: Double { 24 }

    /// One run per frame-group, each at temporal offset 0 and advancing by the larger grid side.
    override func videoRuns(groups: [[Int]], gridRows: Int, gridCols: Int, framesPerSecond fps: Double) -> [VisualPositionRun] {
        groups.map { Self.run($0, gridCols: gridCols, advance: max(gridRows, gridCols)) }
    }

    /// `<t seconds><|vision_start|><|video_pad|> x n<|vision_end|>` per frame-group, t its time
    /// (`groupSeconds`) with one decimal, as Python's `f"{t:.1f}"`.
    override func videoPlaceholder(for video: ImageEmbedding) -> String {
        video.tileCounts.enumerated().map { g, n in
            let t = g < video.groupSeconds.count ? video.groupSeconds[g] : 0
            return "<" + String(format: "%.1f", t) + " seconds><|vision_start|>" + String(repeating: "<|video_pad|>", count: n) + "<|vision_end|>"
        }.joined()
    }
}
