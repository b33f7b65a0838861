/// The hyper-parameters every decoder family stores in GGUF under `<architecture>.`, with the
/// defaults llama.cpp assumes when a key is absent. Families add their own switches after.
enum GGUFHyperParameters {
    static func read(_ f: GGUFFile, architecture p: String, family: DecoderConfig.Family, vocabSize: Int,
                     activation: Activation, ropeLayout: RotaryEmbedding.Layout, defaultHeadDim: Int? = nil,
                     defaultContext: Int, defaultEps: Float, defaultRopeBase: Float) throws -> DecoderConfig {
        let p = p + "."
        let hidden = try f.int(p + "embedding_length"), heads = try f.int(p + "attention.head_count")
        guard heads > 0 else { throw VLMError.badInput("\(f.path): head count is 0") }
        return DecoderConfig(
            family: family, hiddenSize: hidden, layerCount: try f.int(p + "block_count"),
            headCount: heads, kvHeadCount: try f.intIfPresent(p + "attention.head_count_kv") ?? heads,
            headDim: try f.intIfPresent(p + "attention.key_length") ?? defaultHeadDim ?? hidden / heads,
            intermediateSize: try f.int(p + "feed_forward_length"), vocabSize: vocabSize,
            contextLength: try f.intIfPresent(p + "context_length") ?? defaultContext,
            rmsNormEps: try f.floatIfPresent(p + "attention.layer_norm_rms_epsilon") ?? defaultEps,
            activation: activation, ropeTheta: try f.floatIfPresent(p + "rope.freq_base") ?? defaultRopeBase,
            ropeLayout: ropeLayout)
    }
}
