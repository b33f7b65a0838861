/// Where each decoder tensor lives in one checkpoint format. GGUF (llama.cpp's names) and
/// Hugging Face safetensors (transformers' names) differ only in this table; one builder,
/// `DecoderWeights.load`, reads either.
struct DecoderTensorNames {
    var layerPrefix: (Int) -> String
    var attentionNorm, query, key, value, output, mlpNorm, gate, up, down: String
    var queryBias, keyBias, valueBias, queryNorm, keyNorm, postAttentionNorm, postMLPNorm: String
    var embedding, finalNorm, outputHead: String

    static let gguf = DecoderTensorNames(
        layerPrefix: { "blk.\($0)." },
        attentionNorm: "attn_norm.weight", query: "attn_q.weight", key: "attn_k.weight", value: "attn_v.weight",
        output: "attn_output.weight", mlpNorm: "ffn_norm.weight", gate: "ffn_gate.weight", up: "ffn_up.weight",
        down: "ffn_down.weight", queryBias: "attn_q.bias", keyBias: "attn_k.bias", valueBias: "attn_v.bias",
        queryNorm: "attn_q_norm.weight", keyNorm: "attn_k_norm.weight",
        postAttentionNorm: "post_attention_norm.weight", postMLPNorm: "post_ffw_norm.weight",
        embedding: "token_embd.weight", finalNorm: "output_norm.weight", outputHead: "output.weight")

    /// transformers' names under `prefix` ("model." for a causal LM). Gemma's sandwich norms
    /// move the MLP's input norm to `pre_feedforward_layernorm`; elsewhere it is
    /// `post_attention_layernorm`.
    static func huggingFace(prefix: String, lmHead: String, sandwichNorms: Bool) -> DecoderTensorNames {
        DecoderTensorNames(
            layerPrefix: { "\(prefix)layers.\($0)." },
            attentionNorm: "input_layernorm.weight", query: "self_attn.q_proj.weight", key: "self_attn.k_proj.weight",
            value: "self_attn.v_proj.weight", output: "self_attn.o_proj.weight",
            mlpNorm: sandwichNorms ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight",
            gate: "mlp.gate_proj.weight", up: "mlp.up_proj.weight", down: "mlp.down_proj.weight",
            queryBias: "self_attn.q_proj.bias", keyBias: "self_attn.k_proj.bias", valueBias: "self_attn.v_proj.bias",
            queryNorm: "self_attn.q_norm.weight", keyNorm: "self_attn.k_norm.weight",
            postAttentionNorm: "post_attention_layernorm.weight", postMLPNorm: "post_feedforward_layernorm.weight",
            embedding: prefix + "embed_tokens.weight", finalNorm: prefix + "norm.weight", outputHead: lmHead)
    }
}

extension DecoderWeights {
    /// Reads every tensor `config` calls for, by `names`, through the format's accessors. The
    /// output head is the embedding matrix when the checkpoint has none (tied weights).
    static func load(_ config: DecoderConfig, names n: DecoderTensorNames,
                     matrix: (String) throws -> WeightMatrix, vector: (String) throws -> [Float],
                     contains: (String) -> Bool) throws -> DecoderWeights {
        var layers: [DecoderLayerWeights] = []
        for i in 0..<config.layerCount {
            let b = n.layerPrefix(i)
            var l = DecoderLayerWeights(
                attentionNorm: try vector(b + n.attentionNorm),
                query: try matrix(b + n.query), key: try matrix(b + n.key),
                value: try matrix(b + n.value), output: try matrix(b + n.output),
                mlpNorm: try vector(b + n.mlpNorm),
                gate: try matrix(b + n.gate), up: try matrix(b + n.up), down: try matrix(b + n.down))
            if config.hasQKVBias {
                l.queryBias = try vector(b + n.queryBias)
                l.keyBias = try vector(b + n.keyBias)
                l.valueBias = try vector(b + n.valueBias)
            }
            if config.hasQKNorm {
                l.queryNorm = try vector(b + n.queryNorm)
                l.keyNorm = try vector(b + n.keyNorm)
            }
            if config.hasSandwichNorms {
                l.postAttentionNorm = try vector(b + n.postAttentionNorm)
                l.postMLPNorm = try vector(b + n.postMLPNorm)
            }
            layers.append(l)
        }
        let embedding = try matrix(n.embedding)
        let head = contains(n.outputHead) ? try matrix(n.outputHead) : embedding
        return DecoderWeights(embedding: embedding, layers: layers, finalNorm: try vector(n.finalNorm), outputHead: head)
    }
}
