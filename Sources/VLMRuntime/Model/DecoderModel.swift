/// A decoder-only transformer (Llama, Qwen2, Gemma 3) running on the CPU.
///
/// The forward pass takes a block of T input rows (token embeddings, or visual embeddings a
/// vision-language model splices in) and appends their keys and values to a `KVCache`. The
/// same code serves prefill (T large: every linear layer is one matrix product through BLAS on
/// dequantized weight tiles) and decode (T = 1: SIMD mat-vec directly on quantized blocks).
public final class DecoderModel {
    public let config: DecoderConfig
    public let weights: DecoderWeights
    private let globalRope: RotaryEmbedding
    private let localRope: RotaryEmbedding
    private var workspace = Workspace()
    /// LoRA adapters applied beside the base products, in order (`--lora`).
    public private(set) var adapters: [LoRAAdapter] = []

    public init(config: DecoderConfig, weights: DecoderWeights) throws {
        try config.validate()
        try weights.validate(against: config)
        self.config = config
        self.weights = weights
        globalRope = RotaryEmbedding(layout: config.ropeLayout, rotaryDims: config.headDim,
                                     base: config.ropeTheta, scalingFactor: config.ropeScaling)
        localRope = RotaryEmbedding(layout: config.ropeLayout, rotaryDims: config.headDim,
                                    base: config.localRopeTheta ?? config.ropeTheta)
    }

    /// Another decoder over the same weights with its own scratch memory, so that two sequences
    /// can run at once (the staged pipeline's generate workers). Weights are shared, not copied.
    public func sibling() throws -> DecoderModel {
        let d = try DecoderModel(config: config, weights: weights)
        d.exactActivations = exactActivations
        d.adapters = adapters
        return d
    }

    /// Adds `adapter`'s updates to every product it adapts, from the next pass on (loaded for
    /// this model's config: `LoRAAdapter(path:scale:for:)` checks every shape).
    public func apply(_ adapter: LoRAAdapter) throws {
        guard adapter.layers.count == config.layerCount else {
            throw VLMError.badInput("\(adapter.name): \(adapter.layers.count) layers for a \(config.layerCount)-layer model")
        }
        adapters.append(adapter)
    }

    /// A new, empty cache for one sequence of at most `capacity` tokens.
    public func makeCache(_ type: KVCacheType = .f16, capacity: Int? = nil) -> KVCache {
        type.makeCache(shape: KVCacheShape(layers: config.layerCount, heads: config.headCount,
                                           kvHeads: config.kvHeadCount, headDim: config.headDim,
                                           capacity: min(capacity ?? config.contextLength, config.contextLength)))
    }

    /// Writes the input embeddings of `tokens` (scaled as the family requires) into `out`,
    /// `tokens.count` rows of `hiddenSize`. Throws on an id outside the vocabulary.
    public func embed(_ tokens: [Int32], into out: UnsafeMutablePointer<Float>) throws {
        let d = config.hiddenSize
        for (i, t) in tokens.enumerated() {
            guard t >= 0, Int(t) < config.vocabSize else {
                throw VLMError.usage("token id \(t) is outside the vocabulary of \(config.vocabSize)")
            }
            weights.embedding.dequantizeRows(Int(t)..<Int(t) + 1, into: out + i * d)
        }
        if let s = config.embeddingScale {
            // transformers multiplies by the scale rounded to the activation dtype (float32 here).
            for i in 0..<tokens.count * d { out[i] *= s }
        }
    }

    /// Which logits a forward pass returns.
    public enum LogitsRequest { case none, last, all }

    /// Runs `tokens` through the model after what `cache` already holds; returns logits as asked
    /// (`vocabSize` floats per returned row).
    @discardableResult
    public func forward(tokens: [Int32], cache: KVCache, logits: LogitsRequest = .last) throws -> [Float] {
        var x = [Float](repeating: 0, count: tokens.count * config.hiddenSize)
        try x.withUnsafeMutableBufferPointer { try embed(tokens, into: $0.baseAddress!) }
        return try forward(embeddings: &x, rows: tokens.count, cache: cache, logits: logits)
    }

    /// Decode steps multiply weights with 8-bit quantized activations (llama.cpp's scheme, ~1.6x
    /// faster) unless this is set; the output head always uses exact float activations.
    public var exactActivations = false

    /// Rows the linear layers process at a time. Longer inputs run their matrix products and
    /// MLPs in chunks of this size, so that scratch memory for them stays bounded however long
    /// the prompt (as llama.cpp's micro-batches).
    public var batchSize = 512

    /// Runs `rows` rows of input embeddings (overwritten: the buffer becomes the residual stream).
    /// `positions` replaces the default ones (the cache's length onwards) where the model's
    /// prompt says so (multimodal RoPE); `injection` adds rows after the first layers (DeepStack);
    /// `bidirectional`: runs of these rows that attend to each other both ways (Gemma 3's images).
    public func forward(embeddings x: inout [Float], rows t: Int, cache: KVCache, logits: LogitsRequest = .last,
                        positions: TokenPositions? = nil, injection: LayerInjection? = nil,
                        bidirectional: [Range<Int>] = []) throws -> [Float] {
        let c = config, d = c.hiddenSize
        precondition(x.count == t * d, "embedding buffer does not hold \(t) rows")
        guard t > 0 else { return [] }
        let start = cache.count(layer: 0)
        guard start + t <= cache.shape.capacity else {
            throw VLMError.usage("the sequence needs \(start + t) tokens, over the context limit of \(cache.shape.capacity)")
        }
        precondition(positions.map { $0.count == t } ?? true, "positions do not cover the \(t) rows")
        precondition(injection.map { inj in inj.rows.allSatisfy { $0 >= 0 && $0 < t } && inj.layers.allSatisfy { $0.count == inj.rows.count * d } } ?? true,
                     "injected rows do not match the pass")
        precondition(bidirectional.allSatisfy { $0.lowerBound >= 0 && $0.upperBound <= t }, "bidirectional runs outside the pass")
        var out: [Float] = []
        try x.withUnsafeMutableBufferPointer { xb in
            try runLayers(xb.baseAddress!, count: t, cache: cache, positions: positions, injection: injection,
                          bidirectional: bidirectional)
            var r0 = 0
            while r0 < t {
                let n = min(batchSize, t - r0)
                let want: LogitsRequest = logits == .all ? .all : (logits == .last && r0 + n == t ? .last : .none)
                out += computeLogits(xb.baseAddress! + r0 * d, count: n, want)
                r0 += n
            }
        }
        return out
    }

    /// All rows through every layer, appending their keys and values to `cache`.
    ///
    /// Layer by layer: each layer computes the queries, keys and values of every chunk, appends
    /// the whole pass's keys and values to the cache in one call and attends with all of the
    /// pass's queries at once; then its output projection and MLP run chunk by chunk. So a prompt
    /// attends to itself as one block however many chunks it spans: a packed cache (q8, q4,
    /// kivi2, vidkv) serves the pass's own rows exact (`FreshRows`), as the reference
    /// implementations' full-precision prefill does, where chunk after chunk would have read the
    /// earlier chunks of the same prompt back through the packed format and compounded that
    /// error through the layers. The price is the pass's queries, keys, values and attention
    /// output held for one layer at a time (about 2.3x the residual stream for Qwen2-0.5B),
    /// allocated for the call when the pass is longer than one chunk and freed after it.
    private func runLayers(_ x: UnsafeMutablePointer<Float>, count t: Int, cache: KVCache,
                           positions explicit: TokenPositions?, injection: LayerInjection?, bidirectional: [Range<Int>]) throws {
        let c = config
        let start = cache.count(layer: 0)
        let positions = explicit?.temporal ?? (0..<t).map { Int32(start + $0) }
        let chunk = min(batchSize, t)
        workspace.reserve(rows: chunk, config: c)
        let ws = workspace
        let qw = c.headCount * c.headDim, kvw = c.kvHeadCount * c.headDim, d = c.hiddenSize
        let pass = t > chunk ? Workspace.PassBuffers(rows: t, queryWidth: qw, kvWidth: kvw) : nil
        defer { pass?.free() }
        let q = pass?.q ?? ws.q, k = pass?.k ?? ws.k, v = pass?.v ?? ws.v, attention = pass?.attention ?? ws.attention
        // LoRA: one rank-wide scratch for the pass's chunk (nothing when no adapter is applied).
        var loraScratch = [Float](repeating: 0, count: adapters.isEmpty ? 0 : chunk * (adapters.map(\.maxRank).max() ?? 0))
        func adapt(_ li: Int, _ delta: KeyPath<LayerDeltas, LowRankDelta?>, _ input: UnsafePointer<Float>, rows n: Int,
                   _ output: UnsafeMutablePointer<Float>) {
            for adapter in adapters {
                guard let u = adapter.layers[li][keyPath: delta] else { continue }
                loraScratch.withUnsafeMutableBufferPointer { u.add(input, rows: n, into: output, scratch: $0.baseAddress!) }
            }
        }

        for (li, layer) in weights.layers.enumerated() {
            let global = c.isGlobalLayer(li)
            let rope = global ? globalRope : localRope
            // Queries, keys and values of the whole pass.
            var r0 = 0
            while r0 < t {
                let n = min(chunk, t - r0)
                let qc = q + r0 * qw, kc = k + r0 * kvw, vc = v + r0 * kvw
                rmsNorm(x + r0 * d, ws.normed, rows: n, layer.attentionNorm)
                WeightMatrix.matMul([layer.query, layer.key, layer.value], ws.normed, rows: n, [qc, kc, vc],
                                    exactActivations: exactActivations)
                adapt(li, \.query, ws.normed, rows: n, qc)
                adapt(li, \.key, ws.normed, rows: n, kc)
                adapt(li, \.value, ws.normed, rows: n, vc)
                addBias(layer.queryBias, qc, rows: n)
                addBias(layer.keyBias, kc, rows: n)
                addBias(layer.valueBias, vc, rows: n)
                if let qn = layer.queryNorm, let kn = layer.keyNorm {
                    rmsNorm(qc, qc, rows: n * c.headCount, width: c.headDim, qn)
                    rmsNorm(kc, kc, rows: n * c.kvHeadCount, width: c.headDim, kn)
                }
                if let explicit, let axes = c.mropeAxes {
                    rope.apply(qc, tokens: n, rowStride: qw, heads: c.headCount, headDim: c.headDim, positions: explicit, offset: r0, axes: axes)
                    rope.apply(kc, tokens: n, rowStride: kvw, heads: c.kvHeadCount, headDim: c.headDim, positions: explicit, offset: r0, axes: axes)
                } else {
                    positions.withUnsafeBufferPointer { p in
                        rope.apply(qc, tokens: n, rowStride: qw, heads: c.headCount, headDim: c.headDim, positions: p.baseAddress! + r0)
                        rope.apply(kc, tokens: n, rowStride: kvw, heads: c.kvHeadCount, headDim: c.headDim, positions: p.baseAddress! + r0)
                    }
                }
                r0 += n
            }
            try cache.append(layer: li, keys: k, values: v, tokens: t)
            cache.attend(layer: li, queries: q, tokens: t, scale: c.attentionScale,
                         mask: AttentionMask(window: global ? nil : c.slidingWindow, bidirectional: bidirectional),
                         output: attention)

            // Output projection and MLP, chunk by chunk.
            r0 = 0
            while r0 < t {
                let n = min(chunk, t - r0)
                let xc = x + r0 * d
                layer.output.matMul(attention + r0 * qw, rows: n, ws.projected, exactActivations: exactActivations)
                adapt(li, \.output, attention + r0 * qw, rows: n, ws.projected)
                if let post = layer.postAttentionNorm { rmsNorm(ws.projected, ws.projected, rows: n, post) }
                add(ws.projected, into: xc, count: n * d)

                rmsNorm(xc, ws.normed, rows: n, layer.mlpNorm)
                WeightMatrix.matMul([layer.gate, layer.up], ws.normed, rows: n, [ws.gate, ws.up],
                                    exactActivations: exactActivations)
                adapt(li, \.gate, ws.normed, rows: n, ws.gate)
                adapt(li, \.up, ws.normed, rows: n, ws.up)
                c.activation.applyGated(ws.gate, up: ws.up, count: n * c.intermediateSize)
                layer.down.matMul(ws.gate, rows: n, ws.projected, exactActivations: exactActivations)
                adapt(li, \.down, ws.gate, rows: n, ws.projected)
                if let post = layer.postMLPNorm { rmsNorm(ws.projected, ws.projected, rows: n, post) }
                add(ws.projected, into: xc, count: n * d)
                r0 += n
            }
            if let injection, li < injection.layers.count {
                injection.layers[li].withUnsafeBufferPointer { rows in
                    for (j, r) in injection.rows.enumerated() { add(rows.baseAddress! + j * d, into: x + r * d, count: d) }
                }
            }
        }
    }

    /// Final norm and output head over the requested rows of a chunk's residual stream.
    private func computeLogits(_ x: UnsafeMutablePointer<Float>, count t: Int, _ request: LogitsRequest) -> [Float] {
        if request == .none { return [] }
        let first = request == .last ? t - 1 : 0
        let n = t - first
        let ws = workspace
        rmsNorm(x + first * config.hiddenSize, ws.normed, rows: n, weights.finalNorm)
        var out = [Float](repeating: 0, count: n * config.vocabSize)
        // Logits decide the next token: no 8-bit activation rounding here.
        out.withUnsafeMutableBufferPointer {
            weights.outputHead.matMul(ws.normed, rows: n, $0.baseAddress!, exactActivations: true)
        }
        return out
    }

    // MARK: - Small helpers

    private func rmsNorm(_ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
                         width: Int? = nil, _ w: [Float]) {
        w.withUnsafeBufferPointer { wb in
            Norms.rmsNorm(x, y, rows: rows, width: width ?? config.hiddenSize, weight: wb.baseAddress!,
                          eps: config.rmsNormEps, weightOffset: config.normWeightOffset)
        }
    }

    private func addBias(_ bias: [Float]?, _ y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        let n = bias.count
        for r in 0..<rows { for j in 0..<n { y[r * n + j] += bias[j] } }
    }

    private func add(_ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dst[i] += src[i] }
    }
}

/// Scratch buffers for one forward pass, grown to the largest block seen and reused, so a
/// decode step allocates nothing.
final class Workspace {
    private(set) var rows = 0
    var normed: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var q: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var k: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var v: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var attention: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var projected: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var gate: UnsafeMutablePointer<Float> = .allocate(capacity: 1)
    var up: UnsafeMutablePointer<Float> = .allocate(capacity: 1)

    func reserve(rows t: Int, config c: DecoderConfig) {
        guard t > rows else { return }
        free()
        let qw = c.headCount * c.headDim, kvw = c.kvHeadCount * c.headDim
        normed = .allocate(capacity: t * c.hiddenSize)
        q = .allocate(capacity: t * qw)
        k = .allocate(capacity: t * kvw)
        v = .allocate(capacity: t * kvw)
        attention = .allocate(capacity: t * qw)
        projected = .allocate(capacity: t * c.hiddenSize)
        gate = .allocate(capacity: t * c.intermediateSize)
        up = .allocate(capacity: t * c.intermediateSize)
        rows = t
    }

    private func free() {
        for p in [normed, q, k, v, attention, projected, gate, up] { p.deallocate() }
    }

    /// The queries, keys, values and attention output of a whole pass longer than one chunk
    /// (see `DecoderModel.runLayers`); allocated per call, not kept.
    struct PassBuffers {
        let q, k, v, attention: UnsafeMutablePointer<Float>

        init(rows t: Int, queryWidth qw: Int, kvWidth kvw: Int) {
            q = .allocate(capacity: t * qw)
            k = .allocate(capacity: t * kvw)
            v = .allocate(capacity: t * kvw)
            attention = .allocate(capacity: t * qw)
        }

        func free() { for p in [q, k, v, attention] { p.deallocate() } }
    }

    deinit { free() }
}
