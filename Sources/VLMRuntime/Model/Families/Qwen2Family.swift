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
        let sections = try f.intArray("qwen2vl.rope.dimension_sections")
        let used = Array(sections.prefix(3))
        guard sections.count >= 3, sections.dropFirst(3).allSatisfy({ $0 == 0 }), used.allSatisfy({ $0 >= 0 }),
              used.reduce(0, +) == c.headDim / 2 else {
            throw VLMError.badInput("\(f.path): qwen2vl.rope.dimension_sections \(sections) does not split head_dim / 2 = \(c.headDim / 2) over three axes")
        }
        c.mropeAxes = MultimodalRoPE.contiguousAxes(sections: used)
        return c
    }
}
