/// The Llama family: Llama 2/3, Vicuna (LLaVA-1.5's LLM), SmolLM2.
/// Pre-norm blocks, SiLU-gated MLP, grouped-query attention, no biases.
enum LlamaFamily {
    /// From GGUF metadata under the `llama.` prefix. llama.cpp's converter permutes q/k rows so
    /// that its interleaved ("normal") RoPE reproduces Hugging Face's split-half results.
    static func config(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        let p = "llama."
        let hidden = try f.int(p + "embedding_length"), heads = try f.int(p + "attention.head_count")
        guard heads > 0 else { throw VLMError.badInput("\(f.path): head count is 0") }
        var c = DecoderConfig(
            family: .llama, hiddenSize: hidden, layerCount: try f.int(p + "block_count"),
            headCount: heads, kvHeadCount: try f.intIfPresent(p + "attention.head_count_kv") ?? heads,
            headDim: try f.intIfPresent(p + "attention.key_length") ?? hidden / heads,
            intermediateSize: try f.int(p + "feed_forward_length"), vocabSize: vocabSize,
            contextLength: try f.intIfPresent(p + "context_length") ?? 4096,
            rmsNormEps: try f.floatIfPresent(p + "attention.layer_norm_rms_epsilon") ?? 1e-5,
            activation: .silu, ropeTheta: try f.floatIfPresent(p + "rope.freq_base") ?? 10000,
            ropeLayout: .interleaved)
        if let factor = try f.floatIfPresent(p + "rope.scaling.factor"),
           try f.stringIfPresent(p + "rope.scaling.type") == "linear" {
            c.ropeScaling = factor
        }
        return c
    }
}
