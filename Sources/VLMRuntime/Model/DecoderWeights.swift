/// The tensors of one decoder layer, in the roles the forward pass uses them. Linear weights are
/// `WeightMatrix`es (quantized or float, one output feature per row); norms and biases are small
/// Float vectors.
public struct DecoderLayerWeights {
    public var attentionNorm: [Float]
    public var query: WeightMatrix, key: WeightMatrix, value: WeightMatrix, output: WeightMatrix
    public var queryBias: [Float]? = nil, keyBias: [Float]? = nil, valueBias: [Float]? = nil
    public var queryNorm: [Float]? = nil, keyNorm: [Float]? = nil
    public var postAttentionNorm: [Float]? = nil
    public var mlpNorm: [Float]
    public var gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix
    public var postMLPNorm: [Float]? = nil

    public init(attentionNorm: [Float], query: WeightMatrix, key: WeightMatrix, value: WeightMatrix,
                output: WeightMatrix, mlpNorm: [Float], gate: WeightMatrix, up: WeightMatrix,
                down: WeightMatrix) {
        self.attentionNorm = attentionNorm; self.query = query; self.key = key; self.value = value
        self.output = output; self.mlpNorm = mlpNorm; self.gate = gate; self.up = up; self.down = down
    }
}

/// All weights of a decoder: token embeddings, layers, the final norm and the output head
/// (the embedding matrix itself when the model ties them).
public struct DecoderWeights {
    public var embedding: WeightMatrix
    public var layers: [DecoderLayerWeights]
    public var finalNorm: [Float]
    public var outputHead: WeightMatrix

    public init(embedding: WeightMatrix, layers: [DecoderLayerWeights], finalNorm: [Float], outputHead: WeightMatrix) {
        self.embedding = embedding; self.layers = layers; self.finalNorm = finalNorm; self.outputHead = outputHead
    }

    /// Checks every tensor has the shape the config implies, so a file with a mislabelled or
    /// truncated tensor is refused at load time.
    public func validate(against c: DecoderConfig) throws {
        func check(_ w: WeightMatrix, _ rows: Int, _ cols: Int, _ name: String) throws {
            guard w.rows == rows, w.cols == cols else {
                throw VLMError.badInput("tensor \(name) is \(w.rows)x\(w.cols), expected \(rows)x\(cols)")
            }
        }
        func check(_ v: [Float]?, _ n: Int, _ name: String) throws {
            if let v, v.count != n { throw VLMError.badInput("tensor \(name) has \(v.count) values, expected \(n)") }
        }
        guard layers.count == c.layerCount else {
            throw VLMError.badInput("model has \(layers.count) layers, config says \(c.layerCount)")
        }
        try check(embedding, c.vocabSize, c.hiddenSize, "token embedding")
        try check(outputHead, c.vocabSize, c.hiddenSize, "output head")
        try check(finalNorm, c.hiddenSize, "final norm")
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim
        for (i, l) in layers.enumerated() {
            try check(l.attentionNorm, c.hiddenSize, "layer \(i) attention norm")
            try check(l.query, q, c.hiddenSize, "layer \(i) query")
            try check(l.key, kv, c.hiddenSize, "layer \(i) key")
            try check(l.value, kv, c.hiddenSize, "layer \(i) value")
            try check(l.output, c.hiddenSize, q, "layer \(i) attention output")
            try check(l.queryBias, q, "layer \(i) query bias")
            try check(l.keyBias, kv, "layer \(i) key bias")
            try check(l.valueBias, kv, "layer \(i) value bias")
            try check(l.queryNorm, c.headDim, "layer \(i) query norm")
            try check(l.keyNorm, c.headDim, "layer \(i) key norm")
            try check(l.postAttentionNorm, c.hiddenSize, "layer \(i) post-attention norm")
            try check(l.mlpNorm, c.hiddenSize, "layer \(i) MLP norm")
            try check(l.gate, c.intermediateSize, c.hiddenSize, "layer \(i) gate")
            try check(l.up, c.intermediateSize, c.hiddenSize, "layer \(i) up")
            try check(l.down, c.hiddenSize, c.intermediateSize, "layer \(i) down")
            try check(l.postMLPNorm, c.hiddenSize, "layer \(i) post-MLP norm")
        }
    }
}
