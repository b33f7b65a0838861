/// Qwen2 (LLaVA-OneVision's LLM): the Llama block with biases on q, k and v, and split-half RoPE
/// (llama.cpp's "NeoX" layout; its converter leaves the q/k weights unpermuted).
enum Qwen2Family {
    static func config(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        let p = "qwen2."
        let hidden = try f.int(p + "embedding_length"), heads = try f.int(p + "attention.head_count")
        guard heads > 0 else { throw VLMError.badInput("\(f.path): head count is 0") }
        var c = DecoderConfig(
            family: .qwen2, hiddenSize: hidden, layerCount: try f.int(p + "block_count"),
            headCount: heads, kvHeadCount: try f.intIfPresent(p + "attention.head_count_kv") ?? heads,
            headDim: try f.intIfPresent(p + "attention.key_length") ?? hidden / heads,
            intermediateSize: try f.int(p + "feed_forward_length"), vocabSize: vocabSize,
            contextLength: try f.intIfPresent(p + "context_length") ?? 32768,
            rmsNormEps: try f.floatIfPresent(p + "attention.layer_norm_rms_epsilon") ?? 1e-6,
            activation: .silu, ropeTheta: try f.floatIfPresent(p + "rope.freq_base") ?? 1_000_000,
            ropeLayout: .splitHalf)
        c.hasQKVBias = true
        return c
    }
}
