/// Qwen2 (LLaVA-OneVision's LLM): the Llama block with biases on q, k and v, and split-half RoPE
/// (llama.cpp's "NeoX" layout; its converter leaves the q/k weights unpermuted).
enum Qwen2Family {
    static func config(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        var c = try GGUFHyperParameters.read(f, architecture: "qwen2", family: .qwen2, vocabSize: vocabSize,
                                             activation: .silu, ropeLayout: .splitHalf, defaultContext: 32768,
                                             defaultEps: 1e-6, defaultRopeBase: 1_000_000)
        c.hasQKVBias = true
        return c
    }

    /// Qwen2-VL / Qwen2.5-VL's LLM (`qwen2vl`): Qwen2 with multimodal RoPE, its sections in
    /// `qwen2vl.rope.dimension_sections` (four entries, llama.cpp's; the fourth is 0 here).
    static func configVL(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        var c = try GGUFHyperParameters.read(f, architecture: "qwen2vl", family: .qwen2, vocabSize: vocabSize,
                                             activation: .silu, ropeLayout: .splitHalf, defaultContext: 32768,
                                             defaultEps: 1e-6, defaultRopeBase: 1_000_000)
        c.hasQKVBias = true
        let used = try GGUFHyperParameters.mropeSections(f, architecture: "qwen2vl", headDim: c.headDim)
        c.mropeAxes = MultimodalRoPE.contiguousAxes(sections: used)
        return c
    }
}
