import VLMRuntime

/// A prompt ready for the LLM: token ids, input embeddings with the visual tokens spliced in,
/// where those tokens are, and what preparing it cost.
public struct PreparedPrompt: Sendable {
    public var ids: [Int32]
    /// ids.count x the LLM's hidden size.
    public var embeddings: [Float]
    /// Cache positions from the first to the last visual token; nil for a text-only prompt.
    public var visualSpan: Range<Int>?
    /// Rotary positions of the prompt when the LLM numbers them itself (multimodal RoPE), and
    /// rows added inside the LLM (DeepStack); nil for other models.
    public var positions: TokenPositions?
    public var injection: LayerInjection?
    /// Runs of prompt positions that attend to each other both ways (Gemma 3: each image's
    /// soft tokens); empty for other models.
    public var bidirectional: [Range<Int>] = []
    /// Visual tokens without any reducer, and those the LLM reads.
    public var visualBefore = 0
    public var visualAfter = 0
    /// Stage times in seconds: decode (and preprocess or sample frames), encode (with the
    /// connector, without the reducer), the reducer itself.
    public var decodeSeconds = 0.0
    public var encodeSeconds = 0.0
    public var reduceSeconds = 0.0
    /// Video frames read, when a video was given.
    public var frames: Int?
    /// The reducer that ran ("none" when none did).
    public var reducer = "none"
    /// With `keptPicture`: what the encoder saw of the first image, dropped patches dimmed.
    public var keptPicture: RGBImage?
    /// Messages for the user (decoder warnings, an option that could not apply).
    public var warnings: [String] = []
}

/// What the model is asked: a text prompt about the media (one user turn holding the media and
/// then the text, after `PipelineOptions.system`), or a whole conversation whose image and video
/// parts stand for the media, in order.
public enum PipelinePrompt {
    case text(String)
    case conversation([ChatMessage])
}
