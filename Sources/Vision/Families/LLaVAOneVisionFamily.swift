import VLMRuntime

/// LLaVA-OneVision (`LlavaOnevisionForConditionalGeneration`): LLaVA-NeXT's AnyRes with
/// SigLIP and a Qwen2 LLM, capped by `anyres_max_N` (an unpadded crop grid over N base
/// images' worth of tokens is bilinearly downsampled), media-first ChatML prompts. Videos:
/// each frame's grid bilinearly pooled 2x2 (ceil(side/2) squared tokens), all frames in
/// order, one image_newline after the last frame, placed at the `<video>` marker.
final class LLaVAOneVisionFamily: LLaVANextFamily {
    override class var modelTypes: [String] { ["llava_onevision"] }
    override class var defaultTextModelType: String { "qwen2" }

    override class func check(_ config: VLMConfig, source: String) throws {
        try super.check(config, source: source)
        _ = try maxPatches(config.json, source: source)
    }

    /// N of `vision_aspect_ratio` = "anyres_max_N" (default anyres_max_9).
    static func maxPatches(_ json: [String: Any], source: String) throws -> Int {
        let ratio = json["vision_aspect_ratio"] as? String ?? "anyres_max_9"
        guard ratio.hasPrefix("anyres_max_"), let n = Int(ratio.dropFirst("anyres_max_".count)), n > 0 else {
            throw VLMError.unsupported("\(source): vision_aspect_ratio '\(ratio)'")
        }
        return n
    }

    /// An AnyRes grid over a SigLIP tower. llama.cpp converts LLaVA-OneVision only with its
    /// legacy LLaVA script, which writes CLIP's mean and std and quick-GELU for the SigLIP tower
    /// and drops anyres_max and the "full" feature strategy (checked on a converted tiny model):
    /// such a file does not say how the model reads images, so it is refused rather than guessed.
    override class func readsMMProj(_ m: MMProjFile) -> Bool { m.projectorType == "mlp" && m.hasAnyResGrid && !m.contains("v.class_embd") }
    override class func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        throw VLMError.unsupported("\(m.path): an AnyRes 'mlp' projector over a SigLIP tower (LLaVA-OneVision): llama.cpp's legacy converter loses its normalisation, activation and anyres_max; load the Hugging Face directory instead")
    }

    override class var fallbackChatTemplate: ChatTemplateFallback.Fallback { onevisionTemplate }

    /// llava-hf/llava-onevision-qwen2-0.5b-ov-hf's template: media-first ChatML.
    static let onevisionTemplate = ChatTemplateFallback.Fallback(name: "LLaVA-OneVision", source: """
        {% for message in messages %}{{'<|im_start|>' + message['role'] + ' '}}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>' }}{% endfor %}{# Render all video then #}{% for content in message['content'] | selectattr('type', 'equalto', 'video') %}{{ '<video>' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ '\\n' + content['text'] }}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ '\\n' + content['text'] }}{% endgeneration %}{% endfor %}{% endif %}{{'<|im_end|>\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}
        """)

    override var maxAnyResPatches: Int? { try? Self.maxPatches(config.json, source: "") }

    override func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int) {
        let pooledSide = (frame.gridRows + 1) / 2
        let pooled = AnyResPacking.bilinearResize(frame.rows, height: frame.gridRows, width: frame.gridCols, dim: width,
                                                  toHeight: pooledSide, toWidth: pooledSide)
        return (pooled, pooledSide)
    }

    override var videoSuffix: [Float]? { imageNewline }
}
