/// The Llama family: Llama 2/3, Vicuna (LLaVA-1.5's LLM), SmolLM2.
/// Pre-norm blocks, SiLU-gated MLP, grouped-query attention, no biases.
enum LlamaFamily {
    /// From GGUF metadata under the `llama.` prefix. llama.cpp's converter permutes q/k rows so
    /// that its interleaved ("normal") RoPE reproduces Hugging Face's split-half results.
    static func config(gguf f: GGUFFile, vocabSize: Int) throws -> DecoderConfig {
        var c = try GGUFHyperParameters.read(f, architecture: "llama", family: .llama, vocabSize: vocabSize,
                                             activation: .silu, ropeLayout: .interleaved, defaultContext: 4096,
                                             defaultEps: 1e-5, defaultRopeBase: 10000)
        if let factor = try f.floatIfPresent("llama.rope.scaling.factor"),
           try f.stringIfPresent("llama.rope.scaling.type") == "linear" {
            c.ropeScaling = factor
        }
        return c
    }
}
