/// Which Hugging Face tensor each tensor of an mmproj GGUF came from: the inverse of the map
/// llama.cpp's convert_hf_to_gguf.py applies (gguf-py's tensor_mapping.py), so that the
/// families' loaders read a converted file under the names they read in the directory. The
/// ViT tower's names are shared (`tower`); each family adds its projector's.
public struct MMProjTensorNames {
    /// GGUF name -> Hugging Face name.
    private(set) var names: [String: String] = [:]
    /// What a converter did to a tensor beyond renaming it, undone at load.
    public enum Rearrangement: Sendable {
        /// Stored as the transpose of the Hugging Face matrix.
        case transposed
        /// Stored as 1 + w (llama.cpp folds Gemma's x̂·(1+w) norms into x̂·w).
        case plusOne
    }
    public private(set) var rearranged: [String: Rearrangement] = [:]

    /// A Hugging Face tensor the converter split into several GGUF tensors, put back together.
    public struct Combination: Sendable {
        public enum Rule: Sendable {
            /// The parts stacked along the outermost dimension (a fused qkv split in three).
            case concatenated
            /// Parts [out, c, kh, kw] that were the time slices of a Conv3d [out, c, t, kh, kw].
            case timeSlices
        }
        public let parts: [String]
        public let rule: Rule
    }
    /// Hugging Face name -> how it is made from GGUF tensors.
    public private(set) var combined: [String: Combination] = [:]

    public init() {}

    /// `hf` is `parts` put together by `rule`.
    public mutating func combine(_ hf: String, from parts: [String], _ rule: Combination.Rule) {
        combined[hf] = Combination(parts: parts, rule: rule)
    }

    /// Whether `gguf` is one of the parts of a combined tensor.
    func isPart(_ gguf: String) -> Bool { combined.values.contains { $0.parts.contains(gguf) } }

    public func huggingFaceName(of ggufName: String) -> String? { names[ggufName] }

    /// `gguf` holds `hf` (both without a `.weight`/`.bias` suffix: both suffixes are mapped).
    public mutating func map(_ gguf: String, _ hf: String) {
        for suffix in [".weight", ".bias"] { names[gguf + suffix] = hf + suffix }
    }

    /// A tensor whose full name has no suffix to add (Gemma 3's `mm_input_projection_weight`).
    public mutating func mapExact(_ gguf: String, _ hf: String, _ rearrangement: Rearrangement? = nil) {
        names[gguf] = hf
        rearranged[gguf] = rearrangement
    }

    /// The CLIP or SigLIP tower of `file` whose Hugging Face tensors sit under `prefix`
    /// (`vision_tower.vision_model.`, Idefics3's `model.vision_model.`), as MODEL_TENSOR.V_* of
    /// gguf-py maps them. Files from llama.cpp's legacy converter swap the names of the two
    /// MLP layers; as clip.cpp does, a block whose `ffn_down` reads `embedding_length` values
    /// is taken as swapped.
    public static func tower(prefix p: String, of file: MMProjFile) -> MMProjTensorNames {
        var m = MMProjTensorNames()
        let layers = file.layerCount
        m.map("v.patch_embd", p + "embeddings.patch_embedding")
        m.map("v.position_embd", p + "embeddings.position_embedding")
        m.mapExact("v.class_embd", p + "embeddings.class_embedding")
        m.map("v.pre_ln", p + "pre_layrnorm")     // sic: CLIP's own spelling
        m.map("v.post_ln", p + "post_layernorm")
        for i in 0..<layers {
            let b = "v.blk.\(i).", l = p + "encoder.layers.\(i)."
            m.map(b + "attn_q", l + "self_attn.q_proj")
            m.map(b + "attn_k", l + "self_attn.k_proj")
            m.map(b + "attn_v", l + "self_attn.v_proj")
            m.map(b + "attn_out", l + "self_attn.out_proj")
            m.map(b + "ln1", l + "layer_norm1")
            m.map(b + "ln2", l + "layer_norm2")
            let swapped = file.file.tensor(named: b + "ffn_down.weight")?.shape.first == file.hiddenSize
                && file.hiddenSize != file.intermediateSize
            m.map(b + "ffn_up", l + (swapped ? "mlp.fc2" : "mlp.fc1"))
            m.map(b + "ffn_down", l + (swapped ? "mlp.fc1" : "mlp.fc2"))
        }
        return m
    }
}
