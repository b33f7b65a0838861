import VLMRuntime

/// Qwen2.5-VL's and Qwen3-VL's vision tower (transformers' `Qwen2_5_VisionTransformerPretrainedModel`
/// and `Qwen3VLVisionModel`) up to, not including, the patch merger (the family's connector).
///
/// One call encodes one frame-group: an image (its one frame taken twice, as the processor
/// repeats it to fill the temporal patch) or two consecutive video frames. transformers packs
/// several groups into one sequence but never lets attention cross a group, so groups encoded
/// apart give the same numbers. The Conv3d patch embedding is one matrix product over im2col
/// rows in (channel, frame, y, x) order; queries and keys turn by 2-D rotary positions (row,
/// column of the patch); blocks attend within windows or over the whole group
/// (`QwenPatchOrder`). Features come back in raster patch order, `gridRows x gridCols`.
public final class QwenVisionTower: VisionEncoder, @unchecked Sendable {
    public let config: QwenVisionConfig
    let weights: QwenVisionWeights

    public var hiddenSize: Int { config.hiddenSize }
    public var layerCount: Int { config.layerCount }
    public var patchSize: Int { config.patchSize }
    public var hasClassToken: Bool { false }

    init(config: QwenVisionConfig, weights: QwenVisionWeights) {
        self.config = config; self.weights = weights
    }

    /// Loads the tower whose tensors are named `<prefix>patch_embed...` in `checkpoint`.
    public convenience init(checkpoint: TensorCheckpoint, visionConfig: [String: Any], variant: QwenVisionConfig.Variant,
                            prefix: String) throws {
        let config = try QwenVisionConfig(json: visionConfig, variant: variant, source: checkpoint.directory + "/config.json (vision_config)")
        self.init(config: config, weights: try QwenVisionWeights(config: config, checkpoint: checkpoint, prefix: prefix))
    }

    /// Image `index` of `pixels` as a one-frame group.
    public func encode(_ pixels: PixelBatch, index: Int, request: EncoderRequest) throws -> EncoderOutput {
        try encode(pixels, frames: (index, index), request: request)
    }

    /// Frames `frames.0` and `frames.1` of `pixels` as one frame-group.
    public func encode(_ pixels: PixelBatch, frames: (Int, Int), request: EncoderRequest) throws -> EncoderOutput {
        let c = config, d = c.hiddenSize, n = c.layerCount, unit = c.patchSize * c.mergeSize
        for f in [frames.0, frames.1] where f < 0 || f >= pixels.count {
            throw VLMError.usage("frame \(f) of a batch of \(pixels.count)")
        }
        guard pixels.height % unit == 0, pixels.width % unit == 0, pixels.height >= unit, pixels.width >= unit else {
            throw VLMError.badInput("the Qwen vision tower takes sides that are multiples of \(unit) pixels, got \(pixels.width)x\(pixels.height)")
        }
        let featureLayer = request.featureLayer < 0 ? n + 1 + request.featureLayer : request.featureLayer
        guard (0...n).contains(featureLayer) else { throw VLMError.usage("feature layer \(request.featureLayer) of a \(n)-layer encoder") }
        var taps: [EncoderTap] = []
        for tap in request.taps {
            let layer = tap.layer < 0 ? n + tap.layer : tap.layer
            guard (0..<n).contains(layer) else { throw VLMError.usage("tap layer \(tap.layer) of a \(n)-layer encoder") }
            taps.append(EncoderTap(layer: layer, kind: tap.kind, clsRowOnly: false))
        }
        let layersToRun = max(featureLayer, (taps.map(\.layer).max() ?? -1) + 1)
        let gridRows = pixels.height / c.patchSize, gridCols = pixels.width / c.patchSize, t = gridRows * gridCols
        let windowCells = c.variant == .qwen2_5 ? c.windowSize / c.mergeSize / c.patchSize : nil
        let layout = QwenPatchOrder(gridRows: gridRows, gridCols: gridCols, merge: c.mergeSize, windowCells: windowCells)
        let whole = [0..<t]

        var x = embed(pixels, frames: frames, layout: layout, gridRows: gridRows, gridCols: gridCols)
        let rope = QwenVisionRoPE(config: c, order: layout.order, gridCols: gridCols)
        var features = featureLayer == 0 ? Self.raster(x, layout.order, width: d) : []
        var tapped: [EncoderTap: [Float]] = [:]
        var scratch = QwenVisionScratch(tokens: t, config: c)
        for layer in 0..<layersToRun {
            let layerTaps = taps.filter { $0.layer == layer }
            let segments = c.isWindowed(layer) ? layout.windows : whole
            for (tap, values) in runBlock(layer, &x, tokens: t, segments: segments, rope: rope, scratch: &scratch, taps: layerTaps) {
                tapped[tap] = Self.rasterTap(values, tap: tap, order: layout.order, tokens: t)
            }
            for tap in layerTaps where tap.kind == .hidden { tapped[tap] = Self.raster(x, layout.order, width: d) }
            if layer + 1 == featureLayer { features = Self.raster(x, layout.order, width: d) }
        }
        return EncoderOutput(features: features, tokenCount: t, hiddenSize: d, hasClassToken: false,
                             gridRows: gridRows, gridCols: gridCols, taps: tapped)
    }

    /// Patch rows of the two frames in processing order through the Conv3d-as-GEMM, plus
    /// Qwen3-VL's interpolated position table.
    private func embed(_ pixels: PixelBatch, frames: (Int, Int), layout: QwenPatchOrder, gridRows: Int, gridCols: Int) -> [Float] {
        let c = config, d = c.hiddenSize, p = c.patchSize, k = c.patchValues, t = layout.order.count
        let width = pixels.width, plane = pixels.height * pixels.width
        var rows = [Float](repeating: 0, count: t * k)
        let frameList = [frames.0, frames.1] + [Int](repeating: frames.1, count: max(0, c.temporalPatchSize - 2))
        pixels.data.withUnsafeBufferPointer { pb in rows.withUnsafeMutableBufferPointer { rb in
            for (i, patch) in layout.order.enumerated() {
                let py = patch / gridCols, px = patch % gridCols
                var o = rb.baseAddress! + i * k
                for ch in 0..<3 { for f in frameList.prefix(c.temporalPatchSize) {
                    let image = pb.baseAddress! + f * pixels.imageStride + ch * plane
                    for y in 0..<p { o.update(from: image + (py * p + y) * width + px * p, count: p); o += p }
                }}
            }
        }}
        var x = [Float](repeating: 0, count: t * d)
        rows.withUnsafeBufferPointer { r in x.withUnsafeMutableBufferPointer { weights.patch.apply(r.baseAddress!, rows: t, into: $0.baseAddress!) } }
        if let table = weights.positionTable {
            let pos = QwenVisionWeights.interpolatedPositions(table, side: Int(Double(c.positionEmbeddings).squareRoot()), dim: d,
                                                              rows: gridRows, cols: gridCols)
            for (i, patch) in layout.order.enumerated() { for j in 0..<d { x[i * d + j] += pos[patch * d + j] } }
        }
        return x
    }

    /// Rows of `x` (processing order) put back in raster patch order.
    static func raster(_ x: [Float], _ order: [Int], width d: Int) -> [Float] {
        var out = [Float](repeating: 0, count: x.count)
        for (i, patch) in order.enumerated() { for j in 0..<d { out[patch * d + j] = x[i * d + j] } }
        return out
    }

    /// A tap (processing order) in raster order: attention maps permuted on both axes.
    static func rasterTap(_ values: [Float], tap: EncoderTap, order: [Int], tokens t: Int) -> [Float] {
        switch tap.kind {
        case .attentionProbabilities, .attentionLogits:
            var out = [Float](repeating: 0, count: t * t)
            for i in 0..<t { for j in 0..<t { out[order[i] * t + order[j]] = values[i * t + j] } }
            return out
        case .keys, .hidden:
            return raster(values, order, width: values.count / t)
        }
    }
}
