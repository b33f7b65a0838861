/// Qwen3 (and Qwen3-VL's LLM): the Llama block with an RMSNorm over each query and key head
/// before RoPE (`attn_q_norm`, `attn_k_norm`), no q/k/v biases, split-half ("NeoX") RoPE;
/// llama.cpp's converter leaves the q/k rows unpermuted, as for Qwen2.
enum Qwen3Family {
    static func config(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        try read(f, architecture: "qwen3", vocabSize: vocabSize)
    }

    /// Qwen3-VL's LLM (`qwen3vl`): Qwen3 with interleaved multimodal RoPE, its sections in
    /// `qwen3vl.rope.dimension_sections` (four entries, the fourth 0). The axes are laid out as
    /// transformers' `apply_interleaved_mrope` lays them out (height at f = 1 mod 3 and width at
    /// f = 2 mod 3 below three times their sections, time elsewhere), which is what the Hugging
    /// Face directory the file came from computes. `qwen3vl.n_deepstack_layers` (the DeepStack
    /// rows llama.cpp carries inside its input width) is checked against the mmproj by the pair.
    static func configVL(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        var c = try read(f, architecture: "qwen3vl", vocabSize: vocabSize)
        let used = try GGUFHyperParameters.mropeSections(f, architecture: "qwen3vl", headDim: c.headDim)
        c.mropeAxes = MultimodalRoPE.interleavedAxes(sections: used, frequencies: c.headDim / 2)
        return c
    }

    private static func read(_ f: GGUFFile, architecture: String, vocabSize: Int) throws -> DecoderConfig {
        var c = try GGUFHyperParameters.read(f, architecture: architecture, family: .qwen3, vocabSize: vocabSize,
                                             activation: .silu, ropeLayout: .splitHalf, defaultContext: 40960,
                                             defaultEps: 1e-6, defaultRopeBase: 1_000_000)
        c.hasQKNorm = true
        c.hasQKVBias = false
        return c
    }
}
