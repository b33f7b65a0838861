/// Gemma 3 (text): q/k RMSNorm per head, sandwich norms around attention and MLP, embeddings
/// scaled by sqrt(hidden), tied output head, GELU(tanh)-gated MLP, and 5 sliding-window layers
/// (window 512, RoPE base 10 000) for every global layer (RoPE base 1e6).
///
/// The GGUF stores neither the local RoPE base nor the layer pattern; they are fixed by the
/// architecture (transformers' Gemma3TextConfig defaults: rope_local_base_freq 10000,
/// sliding_window_pattern 6). llama.cpp's converter adds Gemma's +1 to every norm weight, so
/// GGUF norms multiply as-is, while Hugging Face checkpoints need `normWeightOffset = 1`.
enum Gemma3Family {
    static let localRopeTheta: Float = 10_000
    static let slidingWindowPattern = 6

    static func config(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        let p = "gemma3."
        let hidden = try f.int(p + "embedding_length"), heads = try f.int(p + "attention.head_count")
        guard heads > 0 else { throw VLMError.badInput("\(f.path): head count is 0") }
        let headDim = try f.intIfPresent(p + "attention.key_length") ?? 256
        var c = DecoderConfig(
            family: .gemma3, hiddenSize: hidden, layerCount: try f.int(p + "block_count"),
            headCount: heads, kvHeadCount: try f.intIfPresent(p + "attention.head_count_kv") ?? heads,
            headDim: headDim,
            intermediateSize: try f.int(p + "feed_forward_length"), vocabSize: vocabSize,
            contextLength: try f.intIfPresent(p + "context_length") ?? 32768,
            rmsNormEps: try f.floatIfPresent(p + "attention.layer_norm_rms_epsilon") ?? 1e-6,
            activation: .geluTanh, ropeTheta: try f.floatIfPresent(p + "rope.freq_base") ?? 1_000_000,
            ropeLayout: .splitHalf)
        if let factor = try f.floatIfPresent(p + "rope.scaling.factor") { c.ropeScaling = factor }
        applyGemma3Switches(&c, slidingWindow: try f.intIfPresent(p + "attention.sliding_window") ?? 512,
                            queryPreAttentionScalar: Float(headDim))
        // Gemma 3 27B scales queries by hidden/heads, not head_dim (as llama.cpp special-cases).
        if hidden == 5376 && heads == 32 { c.attentionScale = 1 / Float(hidden / heads).squareRoot() }
        return c
    }

    static func applyGemma3Switches(_ c: inout DecoderConfig, slidingWindow: Int, queryPreAttentionScalar: Float) {
        c.hasQKNorm = true
        c.hasSandwichNorms = true
        c.embeddingScale = Float(c.hiddenSize).squareRoot()
        c.attentionScale = 1 / queryPreAttentionScalar.squareRoot()
        c.slidingWindow = slidingWindow
        c.slidingWindowPattern = slidingWindowPattern
        c.localRopeTheta = localRopeTheta
    }
}
