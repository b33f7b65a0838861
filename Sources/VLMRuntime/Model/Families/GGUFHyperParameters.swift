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

    /// The three multimodal-RoPE sections (temporal, height, width) of `<architecture>.rope.dimension_sections`:
    /// llama.cpp writes transformers' mrope_section padded to four entries, the fourth 0; they
    /// must split head_dim / 2 frequencies.
    static func mropeSections(_ f: GGUFFile, architecture p: String, headDim: Int) throws -> [Int] {
        let key = p + ".rope.dimension_sections"
        let sections = try f.intArray(key)
        let used = Array(sections.prefix(3))
        guard sections.count >= 3, sections.dropFirst(3).allSatisfy({ $0 == 0 }), used.allSatisfy({ $0 >= 0 }),
              used.reduce(0, +) == headDim / 2 else {
            throw VLMError.badInput("\(f.path): \(key) \(sections) does not split head_dim / 2 = \(headDim / 2) over three axes")
        }
        return used
    }
}
