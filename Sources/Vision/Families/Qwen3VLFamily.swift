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
    /// Not read yet: the pair's LLM (`qwen3vl`, DeepStack rows inside the LLM's input width)
    /// needs its own GGUF decoder; the Hugging Face directory loads.
    override class func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        throw VLMError.unsupported("\(m.path): Qwen3-VL pairs (qwen3vl_merger) are not read yet; load the Hugging Face directory")
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
