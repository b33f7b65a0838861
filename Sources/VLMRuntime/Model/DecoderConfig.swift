/// Everything about a decoder-only LLM's shape and numerics that its forward pass needs,
/// independent of the file it was loaded from. The families (Llama, Qwen2, Gemma 3) differ
/// only in the switches below; each family file fills them from GGUF or config.json.
public struct DecoderConfig: Sendable {
    public enum Family: String, Sendable { case llama, qwen2, qwen3, gemma3 }

    public var family: Family
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var vocabSize: Int
    public var contextLength: Int
    public var rmsNormEps: Float
    public var activation: Activation

    /// RoPE base of the (global) attention layers, and the pair layout the weights expect.
    public var ropeTheta: Float
    public var ropeLayout: RotaryEmbedding.Layout
    public var ropeScaling: Float = 1

    /// Qwen2: q, k and v projections have biases.
    public var hasQKVBias = false
    /// Gemma 3: RMSNorm over each query and key head before RoPE.
    public var hasQKNorm = false
    /// Gemma 3: norms after attention and after the MLP too ("sandwich"), before the residual add.
    public var hasSandwichNorms = false
    /// Gemma: token embeddings are multiplied by sqrt(hidden_size).
    public var embeddingScale: Float? = nil
    /// Gemma checkpoints in Hugging Face layout store norm weights w for (1 + w); 1 there, 0 else.
    public var normWeightOffset: Float = 0
    /// Softmax scale of attention scores; 1/sqrt(headDim) unless the family says otherwise
    /// (Gemma 3: query_pre_attn_scalar^-0.5).
    public var attentionScale: Float
    /// Sliding-window attention (Gemma 3): window size, the period of the layer pattern (every
    /// `slidingWindowPattern`-th layer is global), and the RoPE base of the local layers.
    public var slidingWindow: Int? = nil
    public var slidingWindowPattern: Int? = nil
    public var localRopeTheta: Float? = nil
    /// Per-layer override of the pattern (transformers' `layer_types`): true = full attention.
    public var globalLayers: [Bool]? = nil
    /// Multimodal RoPE (Qwen2.5-VL, Qwen3-VL): the position axis (0 temporal, 1 height, 2 width)
    /// each of the headDim/2 frequencies turns by (`MultimodalRoPE`); nil: one axis.
    public var mropeAxes: [UInt8]? = nil

    public init(family: Family, hiddenSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                headDim: Int, intermediateSize: Int, vocabSize: Int, contextLength: Int,
                rmsNormEps: Float, activation: Activation, ropeTheta: Float,
                ropeLayout: RotaryEmbedding.Layout) {
        self.family = family; self.hiddenSize = hiddenSize; self.layerCount = layerCount
        self.headCount = headCount; self.kvHeadCount = kvHeadCount; self.headDim = headDim
        self.intermediateSize = intermediateSize; self.vocabSize = vocabSize
        self.contextLength = contextLength; self.rmsNormEps = rmsNormEps; self.activation = activation
        self.ropeTheta = ropeTheta; self.ropeLayout = ropeLayout
        self.attentionScale = 1 / Float(headDim).squareRoot()
    }

    /// Whether `layer` attends over the whole sequence (true) or a sliding window (false).
    public func isGlobalLayer(_ layer: Int) -> Bool {
        if let globalLayers, layer < globalLayers.count { return globalLayers[layer] }
        guard slidingWindow != nil, let period = slidingWindowPattern, period > 0 else { return true }
        return (layer + 1) % period == 0
    }

    /// Checks the numbers are consistent before any buffer is sized from them; a hostile or
    /// broken model file must fail here with a clear message, not trap later.
    public func validate() throws {
        func need(_ ok: Bool, _ what: String) throws { if !ok { throw VLMError.badInput("model config: \(what)") } }
        try need(hiddenSize > 0 && hiddenSize <= 65536, "hidden size \(hiddenSize) out of range")
        try need(layerCount > 0 && layerCount <= 512, "layer count \(layerCount) out of range")
        try need(headCount > 0 && headCount <= 1024, "head count \(headCount) out of range")
        try need(kvHeadCount > 0 && headCount % kvHeadCount == 0, "kv head count \(kvHeadCount) does not divide head count \(headCount)")
        try need(headDim > 0 && headDim <= 1024 && headDim % 2 == 0, "head dim \(headDim) out of range")
        try need(intermediateSize > 0 && intermediateSize <= 1 << 20, "intermediate size \(intermediateSize) out of range")
        try need(vocabSize > 0 && vocabSize <= 1 << 22, "vocabulary size \(vocabSize) out of range")
        try need(contextLength > 0, "context length \(contextLength) out of range")
        try need(rmsNormEps >= 0 && rmsNormEps < 1, "rms norm epsilon \(rmsNormEps) out of range")
        try need(ropeTheta > 0, "rope base \(ropeTheta) out of range")
        if let axes = mropeAxes {
            try need(axes.count == headDim / 2 && axes.allSatisfy { $0 < 3 }, "mrope_section does not cover the \(headDim / 2) rotary frequencies")
        }
    }
}
