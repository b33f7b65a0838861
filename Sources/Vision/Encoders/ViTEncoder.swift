import VLMRuntime

/// A pre-norm ViT (CLIP, SigLIP, Idefics3's SigLIP variant, DINOv2) on float32 weights.
///
/// Every product goes through sgemm: the patch embedding as an im2col matrix product, Q/K/V
/// as one stacked matrix, attention per head as two products around a row softmax (heads
/// spread over the worker threads), the MLP with its activation fused after the first
/// product. Attention is always explicit here, so a tap only adds averaging over heads at the
/// tapped layer; untapped layers do no extra work.
public final class ViTEncoder: VisionEncoder, @unchecked Sendable {
    public let config: ViTConfig
    let weights: ViTWeights

    public var hiddenSize: Int { config.hiddenSize }
    public var layerCount: Int { config.layerCount }
    public var patchSize: Int { config.patchSize }
    public var hasClassToken: Bool { config.hasClassToken }

    init(config: ViTConfig, weights: ViTWeights) {
        self.config = config; self.weights = weights
    }

    /// Loads the encoder whose tensors are named `<prefix>embeddings...` in `checkpoint`.
    public convenience init(checkpoint: TensorCheckpoint, visionConfig: [String: Any], prefix: String) throws {
        let config = try ViTConfig(json: visionConfig, source: checkpoint.directory + "/config.json (vision_config)")
        self.init(config: config, weights: try ViTWeights(config: config, checkpoint: checkpoint, prefix: prefix))
    }

    /// An encoder of `config`'s shape with random weights, for benchmarks.
    public static func random(_ config: ViTConfig, seed: UInt64 = 1) throws -> ViTEncoder {
        ViTEncoder(config: config, weights: try ViTWeights(random: config, seed: seed))
    }

    public func encode(_ pixels: PixelBatch, index: Int, request: EncoderRequest) throws -> EncoderOutput {
        let c = config, d = c.hiddenSize, n = c.layerCount
        guard index >= 0, index < pixels.count else { throw VLMError.usage("image \(index) of a batch of \(pixels.count)") }
        // DINOv2 takes any multiple of its patch size (positions are interpolated); the others
        // are only ever fed their training size by their processors.
        let sizeOK = c.family == .dinov2
            ? pixels.height % c.patchSize == 0 && pixels.width % c.patchSize == 0 && pixels.height >= c.patchSize && pixels.width >= c.patchSize
            : pixels.height == c.imageSize && pixels.width == c.imageSize
        guard sizeOK else {
            throw VLMError.badInput("the \(c.family.rawValue) encoder takes \(c.imageSize)x\(c.imageSize) images, got \(pixels.width)x\(pixels.height)")
        }
        let featureLayer = request.featureLayer < 0 ? n + 1 + request.featureLayer : request.featureLayer
        guard (0...n).contains(featureLayer) else { throw VLMError.usage("feature layer \(request.featureLayer) of a \(n)-layer encoder") }
        var taps: [(tap: EncoderTap, layer: Int)] = []
        for tap in request.taps {
            let layer = tap.layer < 0 ? n + tap.layer : tap.layer
            guard (0..<n).contains(layer) else { throw VLMError.usage("tap layer \(tap.layer) of a \(n)-layer encoder") }
            taps.append((EncoderTap(layer: layer, kind: tap.kind, clsRowOnly: tap.clsRowOnly), layer))
        }
        let layersToRun = max(featureLayer, (taps.map(\.layer).max() ?? -1) + 1)

        let gridRows = pixels.height / c.patchSize, gridCols = pixels.width / c.patchSize, patches = gridRows * gridCols
        let first = c.hasClassToken ? 1 : 0
        let t = patches + first
        var x = [Float](repeating: 0, count: t * d)
        var features: [Float] = []
        var tapped: [EncoderTap: [Float]] = [:]

        var scratch = Scratch(tokens: t, config: c)
        x.withUnsafeMutableBufferPointer { xb in
            let x = xb.baseAddress!
            embed(pixels, index: index, into: x, scratch: &scratch)
            if featureLayer == 0 { features = Array(xb) }
            for layer in 0..<layersToRun {
                let layerTaps = taps.filter { $0.layer == layer }.map(\.tap)
                let results = runLayer(layer, x, tokens: t, scratch: &scratch, taps: layerTaps)
                for (tap, values) in results { tapped[tap] = values }
                if layerTaps.contains(where: { $0.kind == .hidden }) {
                    for tap in layerTaps where tap.kind == .hidden { tapped[tap] = Array(xb) }
                }
                if layer + 1 == featureLayer { features = Array(xb) }
            }
        }
        if request.applyPostLayerNorm {
            guard let postNormWeight = weights.postNormWeight, let postNormBias = weights.postNormBias else {
                throw VLMError.badInput("the vision tower has no post_layernorm, which this model reads")
            }
            var normed = features
            features.withUnsafeBufferPointer { f in normed.withUnsafeMutableBufferPointer { o in
                postNormWeight.withUnsafeBufferPointer { w in postNormBias.withUnsafeBufferPointer { b in
                    Norms.layerNorm(f.baseAddress!, o.baseAddress!, rows: t, width: d, weight: w.baseAddress!, bias: b.baseAddress!, eps: c.layerNormEps)
                }}
            }}
            features = normed
        }
        return EncoderOutput(features: features, tokenCount: t, hiddenSize: d, hasClassToken: c.hasClassToken,
                             gridRows: gridRows, gridCols: gridCols, taps: tapped)
    }

    /// Working buffers for one image, allocated once per call.
    struct Scratch {
        var normed: [Float], qkv: [Float], attention: [Float], projected: [Float], mlp: [Float]
        init(tokens t: Int, config c: ViTConfig) {
            normed = [Float](repeating: 0, count: t * max(c.hiddenSize, 3 * c.patchSize * c.patchSize))
            qkv = [Float](repeating: 0, count: t * 3 * c.hiddenSize)
            attention = [Float](repeating: 0, count: t * c.hiddenSize)
            projected = [Float](repeating: 0, count: t * c.hiddenSize)
            mlp = [Float](repeating: 0, count: t * c.intermediateSize)
        }
    }

    /// Patch embedding (+ class token) + position embeddings (+ CLIP's pre-layernorm) into x.
    private func embed(_ pixels: PixelBatch, index: Int, into x: UnsafeMutablePointer<Float>, scratch: inout Scratch) {
        let c = config, d = c.hiddenSize, p = c.patchSize
        let rows = pixels.height / p, cols = pixels.width / p, width = pixels.width, plane = pixels.height * pixels.width
        let first = c.hasClassToken ? 1 : 0
        let k = 3 * p * p
        scratch.normed.withUnsafeMutableBufferPointer { colsBuffer in
            let patchRows = colsBuffer.baseAddress!
            pixels.data.withUnsafeBufferPointer { pb in
                let image = pb.baseAddress! + index * pixels.imageStride
                // im2col: one row per patch, columns in the convolution weight's (channel, y, x) order.
                for py in 0..<rows { for px in 0..<cols {
                    let row = patchRows + (py * cols + px) * k
                    for ch in 0..<3 { for y in 0..<p {
                        (row + (ch * p + y) * p).update(from: image + ch * plane + (py * p + y) * width + px * p, count: p)
                    }}
                }}
            }
            weights.patch.apply(patchRows, rows: rows * cols, into: x + first * d)
        }
        if let cls = weights.classToken { x.update(from: cls, count: d) }
        positions(rows: rows, cols: cols).withUnsafeBufferPointer { pos in
            for i in 0..<((rows * cols + first) * d) { x[i] += pos[i] }
        }
        if let w = weights.preNormWeight, let b = weights.preNormBias {
            let t = rows * cols + first
            scratch.normed.withUnsafeMutableBufferPointer { tmp in
                Norms.layerNorm(x, tmp.baseAddress!, rows: t, width: d, weight: w, bias: b, eps: c.layerNormEps)
                x.update(from: tmp.baseAddress!, count: t * d)
            }
        }
    }

    /// Position embeddings for a rows x cols patch grid: the stored ones at the training grid,
    /// bicubically resized otherwise (class position kept as is).
    private func positions(rows: Int, cols: Int) -> [Float] {
        let c = config, d = c.hiddenSize, side = c.patchesPerSide, first = c.hasClassToken ? 1 : 0
        if rows == side && cols == side { return weights.positions }
        let grid = Array(weights.positions[(first * d)...])
        return Array(weights.positions[0..<(first * d)]) + PositionInterpolation.bicubic(grid, side: side, dim: d, rows: rows, cols: cols)
    }

    /// One block in place on x; returns the attention/keys taps asked of it.
    private func runLayer(_ index: Int, _ x: UnsafeMutablePointer<Float>, tokens t: Int, scratch s: inout Scratch,
                          taps: [EncoderTap]) -> [(EncoderTap, [Float])] {
        let c = config, d = c.hiddenSize, w = weights.layers[index]
        var results: [(EncoderTap, [Float])] = []
        s.normed.withUnsafeMutableBufferPointer { normedB in s.qkv.withUnsafeMutableBufferPointer { qkvB in
        s.attention.withUnsafeMutableBufferPointer { attnB in s.projected.withUnsafeMutableBufferPointer { projB in
        s.mlp.withUnsafeMutableBufferPointer { mlpB in
            let normed = normedB.baseAddress!, qkv = qkvB.baseAddress!, attn = attnB.baseAddress!
            let proj = projB.baseAddress!, mlp = mlpB.baseAddress!
            layerNorm(x, normed, rows: t, weight: w.norm1Weight, bias: w.norm1Bias)
            w.qkv.apply(normed, rows: t, into: qkv)
            results = attention(qkv: qkv, tokens: t, into: attn, taps: taps)
            w.out.apply(attn, rows: t, into: proj)
            addResidual(x, proj, count: t * d, scale: w.layerScale1)
            layerNorm(x, normed, rows: t, weight: w.norm2Weight, bias: w.norm2Bias)
            w.fc1.apply(normed, rows: t, into: mlp, activation: c.activation)
            w.fc2.apply(mlp, rows: t, into: proj)
            addResidual(x, proj, count: t * d, scale: w.layerScale2)
        }}}}}
        return results
    }

    private func layerNorm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, weight: [Float], bias: [Float]) {
        let d = config.hiddenSize, eps = config.layerNormEps
        weight.withUnsafeBufferPointer { wb in bias.withUnsafeBufferPointer { bb in
            Parallel.forRange(rows, minChunk: 64) { r0, r1 in
                Norms.layerNorm(x + r0 * d, y + r0 * d, rows: r1 - r0, width: d, weight: wb.baseAddress!, bias: bb.baseAddress!, eps: eps)
            }
        }}
    }

    /// x += y (times DINOv2's per-channel layer scale when present).
    private func addResidual(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int, scale: [Float]?) {
        if let scale {
            let d = config.hiddenSize
            scale.withUnsafeBufferPointer { sb in for i in 0..<count { x[i] += y[i] * sb[i % d] } }
        } else {
            for i in 0..<count { x[i] += y[i] }
        }
    }

    /// Multi-head self-attention from the stacked [t x 3d] Q|K|V rows into `out` [t x d].
    private func attention(qkv: UnsafeMutablePointer<Float>, tokens t: Int, into out: UnsafeMutablePointer<Float>,
                           taps: [EncoderTap]) -> [(EncoderTap, [Float])] {
        let c = config, d = c.hiddenSize, heads = c.headCount, hd = c.headDim, stride = 3 * d
        let scale = 1 / Float(hd).squareRoot()
        let attentionTaps = taps.filter { $0.kind == .attentionProbabilities || $0.kind == .attentionLogits }
        // Per-head copies of the tapped rows, averaged after the parallel section.
        let tapRows = attentionTaps.map { $0.clsRowOnly ? 1 : t }
        let tapPointers = attentionTaps.indices.map { i -> UnsafeMutablePointer<Float> in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: heads * tapRows[i] * t)
            p.initialize(repeating: 0, count: heads * tapRows[i] * t)
            return p
        }
        defer { tapPointers.forEach { $0.deallocate() } }
        // `--vision-bf16`: both attention products in bf16 too, unless this layer's maps are tapped.
        if BF16Weights.enabled && attentionTaps.isEmpty {
            bf16Attention(qkv: qkv, tokens: t, into: out, scale: scale)
            return keyTaps(qkv: qkv, tokens: t, taps: taps)
        }
        Parallel.forRange(heads) { h0, h1 in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
            defer { scores.deallocate() }
            for h in h0..<h1 {
                let q = qkv + h * hd, k = qkv + d + h * hd, v = qkv + 2 * d + h * hd
                BLAS.gemmABt(m: t, n: t, k: hd, a: q, lda: stride, b: k, ldb: stride, c: scores, ldc: t, alpha: scale)
                for (i, tap) in attentionTaps.enumerated() where tap.kind == .attentionLogits {
                    (tapPointers[i] + h * tapRows[i] * t).update(from: scores, count: tapRows[i] * t)
                }
                for r in 0..<t { Softmax.inPlace(scores + r * t, count: t) }
                for (i, tap) in attentionTaps.enumerated() where tap.kind == .attentionProbabilities {
                    (tapPointers[i] + h * tapRows[i] * t).update(from: scores, count: tapRows[i] * t)
                }
                BLAS.gemm(m: t, n: hd, k: t, a: scores, lda: t, b: v, ldb: stride, c: out + h * hd, ldc: d)
            }
        }
        var results: [(EncoderTap, [Float])] = []
        for (i, tap) in attentionTaps.enumerated() {
            let n = tapRows[i] * t
            var mean = [Float](repeating: 0, count: n)
            let b = tapPointers[i]
            for h in 0..<heads { for j in 0..<n { mean[j] += b[h * n + j] } }
            let inv = 1 / Float(heads)
            for j in 0..<n { mean[j] *= inv }
            results.append((tap, mean))
        }
        return results + keyTaps(qkv: qkv, tokens: t, taps: taps)
    }

    /// The head-averaged keys for `.keys` taps.
    private func keyTaps(qkv: UnsafeMutablePointer<Float>, tokens t: Int, taps: [EncoderTap]) -> [(EncoderTap, [Float])] {
        let d = config.hiddenSize, heads = config.headCount, hd = config.headDim, stride = 3 * d
        var results: [(EncoderTap, [Float])] = []
        for tap in taps where tap.kind == .keys {
            var keys = [Float](repeating: 0, count: t * hd)
            for r in 0..<t { for h in 0..<heads { for j in 0..<hd { keys[r * hd + j] += qkv[r * stride + d + h * hd + j] } } }
            let inv = 1 / Float(heads)
            for j in keys.indices { keys[j] *= inv }
            results.append((tap, keys))
        }
        return results
    }
}
