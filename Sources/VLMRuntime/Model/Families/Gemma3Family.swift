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
        var c = try GGUFHyperParameters.read(f, architecture: "gemma3", family: .gemma3, vocabSize: vocabSize,
                                             activation: .geluTanh, ropeLayout: .splitHalf, defaultHeadDim: 256,
                                             defaultContext: 32768, defaultEps: 1e-6, defaultRopeBase: 1_000_000)
        let p = "gemma3.", hidden = c.hiddenSize, heads = c.headCount
        if let factor = try f.floatIfPresent(p + "rope.scaling.factor") { c.ropeScaling = factor }
        applyGemma3Switches(&c, slidingWindow: try f.intIfPresent(p + "attention.sliding_window") ?? 512,
                            queryPreAttentionScalar: Float(c.headDim))
        try readLayerPattern(f, into: &c)
        if let base = try f.floatIfPresent(p + "rope.freq_base_swa") { c.localRopeTheta = base }
        // Gemma 3 27B scales queries by hidden/heads, not head_dim (as llama.cpp special-cases).
        if hidden == 5376 && heads == 32 { c.attentionScale = 1 / Float(hidden / heads).squareRoot() }
        return c
    }

    /// `gemma3.attention.sliding_window_pattern` when a file states it (llama.cpp reads it; its
    /// converter does not write it, gguf-py's metadata tools can): one bool per layer, true for
    /// a sliding layer, or a period n (every n-th layer global). Without it, 5 sliding : 1 global.
    static func readLayerPattern(_ f: GGUFFile, into c: inout DecoderConfig) throws {
        let key = "gemma3.attention.sliding_window_pattern"
        switch f.metadata[key] {
        case nil: return
        case .boolArray(let sliding)?:
            guard sliding.count == c.layerCount else { throw VLMError.badInput("\(f.path): \(key) has \(sliding.count) entries for \(c.layerCount) layers") }
            c.globalLayers = sliding.map { !$0 }
        case .int(let n)? where n > 0 && n <= 1 << 16:
            c.slidingWindowPattern = Int(n)
        default:
            throw VLMError.badInput("\(f.path): \(key) is neither one bool per layer nor a positive period")
        }
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
