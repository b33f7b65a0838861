import Prune
import VLMRuntime

/// One encoder image after projection (and reduction): LLM-space rows plus where each row sits
/// on the piece's patch grid, which AnyRes packing needs to restore raster order.
struct ReducedPiece {
    var rows: [Float]
    var count: Int
    /// Grid position (row-major patch index) of each row.
    var positions: [Int]
    var gridRows: Int
    var gridCols: Int
    /// Tokens this piece has without reduction.
    var fullCount: Int
    /// Time spent in the reducer itself.
    var reduceSeconds: Double = 0
    /// The reducer's image-level scores of this piece (GlobalCom2: the thumbnail's guide the crops).
    var scores: [Float]? = nil
    /// How many of `positions` are kept tokens (the rest are merged tokens' anchors); nil: all kept.
    var keptCount: Int? = nil
    /// Rows that go with each of `rows` into the LLM apart from the input (Qwen3-VL's DeepStack
    /// features, one array per level, count x LLM width); empty for other families.
    var companions: [[Float]] = []
}

extension VisionLanguageModel {
    /// Encodes image `index` of `pixels`, asks the encoder for the reducer's taps, reduces, and
    /// projects what is kept.
    func encodePiece(_ pixels: PixelBatch, index: Int, reduction: TokenReduction?, guidance: ThumbnailGuidance? = nil) throws -> ReducedPiece {
        try Self.encodePiece(pixels, index: index, encoder: encoder, request: family.featureRequest, reduction: reduction,
                             keepsClassToken: family.keepsClassToken, projector: family.projector, connector: family.connector,
                             guidance: guidance, extras: config.visionFeatureExtras)
    }

    /// The stages of one encoder image, independent of a loaded checkpoint (benchmarks build
    /// random components of published shapes and run exactly this): encode with the reducer's
    /// taps, then reduce and project in the order the connector needs.
    static func encodePiece(_ pixels: PixelBatch, index: Int, encoder: any VisionEncoder, request base: EncoderRequest,
                            reduction: TokenReduction?, keepsClassToken: Bool, projector: MLPProjector?,
                            connector: (any PatchConnector)?, guidance: ThumbnailGuidance? = nil,
                            extras: [VisionFeatureExtra] = []) throws -> ReducedPiece {
        let reducer = try reduction?.imageReducer()
        let needs = reducer?.needs ?? ReducerNeeds()
        var request = base
        for a in needs.attention {
            request.taps.append(EncoderTap(layer: a.layer, kind: a.logits ? .attentionLogits : .attentionProbabilities,
                                           clsRowOnly: a.classRowOnly && encoder.hasClassToken))
        }
        if let layer = needs.keysLayer { request.taps.append(EncoderTap(layer: layer, kind: .keys)) }
        let piece = EncodedPatches(output: try encoder.encode(pixels, index: index, request: request), needs: needs,
                                   layerCount: encoder.layerCount, keepsClassToken: keepsClassToken,
                                   extras: extras, pixels: pixels, index: index)
        let chosen = reduction.map { (reducer: reducer!, reduction: $0) }
        if let connector {
            return try reduceAfterConnector(piece, connector: connector, reduction: chosen, guidance: guidance)
        }
        guard let projector else { throw VLMError.badInput("the model has neither a projector nor a connector") }
        return try reduceBeforeProjector(piece, projector: projector, reduction: chosen, guidance: guidance)
    }

    /// Idefics3, Qwen-VL: reduce after the connector (pixel shuffle, patch merger), on its
    /// outputs and its grid.
    static func reduceAfterConnector(_ piece: EncodedPatches, connector: any PatchConnector,
                                     reduction: (reducer: any TokenReducer, reduction: TokenReduction)?, guidance: ThumbnailGuidance?) throws -> ReducedPiece {
        let merged = try connector.merge(piece.output, patches: piece.patches, dim: piece.width)
        let rows = merged.rows
        let s = connector.scale, gridRows = piece.output.gridRows / s, gridCols = piece.output.gridCols / s
        let full = TokenMatrix(values: rows, count: gridRows * gridCols, width: rows.count / (gridRows * gridCols))
        guard let (reducer, reduction) = reduction else {
            return ReducedPiece(rows: rows, count: full.count, positions: Array(0..<full.count), gridRows: gridRows, gridCols: gridCols,
                                fullCount: full.count, companions: merged.companions)
        }
        let budget = try reduction.tokens(of: full.count)   // counted on the connector's grid
        let input = ReductionInput(tokens: full, gridRows: gridRows, gridCols: gridCols, projected: full, attention: piece.maps(pool: s),
                                   keys: piece.keys(pool: s), thumbnailGuidance: guidance)
        let t0 = ProcessStats.now
        let result = try reducer.reduce(input, budget: budget)
        let reduceSeconds = ProcessStats.now - t0
        let kept = result.kept.flatMap { full[$0] } + result.merged
        // Rows that travel with each token (DeepStack) follow the kept ones; a merged token takes its anchor's.
        let w = full.width
        let companions = merged.companions.map { c in (result.kept + result.mergedAnchors).flatMap { c[($0 * w)..<(($0 + 1) * w)] } }
        return ReducedPiece(rows: kept, count: result.count, positions: result.kept + result.mergedAnchors, gridRows: gridRows, gridCols: gridCols,
                            fullCount: full.count, reduceSeconds: reduceSeconds, keptCount: result.kept.count, companions: companions)
    }

    /// LLaVA families: reduce the encoder's patch features, then project what is kept (or
    /// gather from the projected tokens when the reducer read them); a kept class token leads.
    static func reduceBeforeProjector(_ piece: EncodedPatches, projector: MLPProjector,
                                      reduction: (reducer: any TokenReducer, reduction: TokenReduction)?, guidance: ThumbnailGuidance?) throws -> ReducedPiece {
        let n = piece.count, out = piece.output
        var rows: [Float], count = n, positions = Array(0..<n)
        var reduceSeconds = 0.0, scores: [Float]? = nil, keptCount: Int? = nil
        if let (reducer, reduction) = reduction {
            let budget = try reduction.tokens(of: n)
            let tokens = TokenMatrix(values: piece.patches, count: n, width: piece.width)
            let projected = piece.needs.projected
                ? TokenMatrix(values: projector(piece.patches, rows: n), count: n, width: projector.outFeatures) : nil
            let input = ReductionInput(tokens: tokens, gridRows: out.gridRows, gridCols: out.gridCols, projected: projected,
                                       attention: piece.maps(pool: 1), keys: piece.keys(pool: 1), thumbnailGuidance: guidance)
            scores = try reducer.imageGuidanceScores(input)
            let t0 = ProcessStats.now
            let result = try reducer.reduce(input, budget: budget)
            reduceSeconds = ProcessStats.now - t0
            if let projected {
                rows = result.kept.flatMap { projected[$0] }
                if result.mergedCount > 0 { rows += projector(result.merged, rows: result.mergedCount) }
            } else {
                rows = projector(result.kept.flatMap { tokens[$0] } + result.merged, rows: result.count)
            }
            count = result.count
            positions = result.kept + result.mergedAnchors
            keptCount = (piece.classRow == nil ? 0 : 1) + result.kept.count
        } else {
            rows = projector(piece.patches, rows: n)
        }
        if let classRow = piece.classRow {
            rows = projector(classRow, rows: 1) + rows; count += 1; positions = [-1] + positions
        }
        return ReducedPiece(rows: rows, count: count, positions: positions, gridRows: out.gridRows, gridCols: out.gridCols,
                            fullCount: n + (piece.classRow == nil ? 0 : 1), reduceSeconds: reduceSeconds, scores: scores, keptCount: keptCount)
    }

    /// An attention map over the pixel-shuffled grid: columns of each scale x scale group summed
    /// (attention received by the merged token), rows unchanged.
    static func poolColumns(_ map: AttentionMap, rows gridRows: Int, cols gridCols: Int, scale s: Int) -> AttentionMap {
        let first = map.hasClassToken ? 1 : 0, outCols = gridCols / s
        let size = first + (gridRows / s) * outCols
        var values = [Float](repeating: 0, count: map.rows * size)
        for r in 0..<map.rows {
            if first == 1 { values[r * size] = map.values[r * map.size] }
            for y in 0..<gridRows { for x in 0..<gridCols {
                let target = first + (y / s) * outCols + x / s
                values[r * size + target] += map.values[r * map.size + first + y * gridCols + x]
            }}
        }
        return AttentionMap(values: values, rows: map.rows, size: size, hasClassToken: map.hasClassToken)
    }

    /// Rows of each scale x scale group averaged (keys of the merged tokens).
    static func poolRows(_ m: TokenMatrix, rows gridRows: Int, cols gridCols: Int, scale s: Int) -> TokenMatrix {
        let outCols = gridCols / s, w = m.width, count = (gridRows / s) * outCols
        var values = [Float](repeating: 0, count: count * w)
        for y in 0..<gridRows { for x in 0..<gridCols {
            let o = ((y / s) * outCols + x / s) * w, src = (y * gridCols + x) * w
            for j in 0..<w { values[o + j] += m.values[src + j] / Float(s * s) }
        }}
        return TokenMatrix(values: values, count: count, width: w)
    }
}

/// One encoder image's output split the way the reducers read it: patch features (class
/// token set aside: LLaVA's "default" strategy drops it, "full" keeps it in front, unreduced;
/// feature extras appended), and the attention maps and keys the reducer asked for.
struct EncodedPatches {
    let output: EncoderOutput
    let needs: ReducerNeeds
    let layerCount: Int
    let classRow: [Float]?
    let patches: [Float]
    /// Width of a patch row (the encoder's, plus any feature extras).
    let width: Int
    /// Patches on the grid.
    var count: Int { output.gridRows * output.gridCols }

    init(output out: EncoderOutput, needs: ReducerNeeds, layerCount: Int, keepsClassToken: Bool, extras: [VisionFeatureExtra],
         pixels: PixelBatch, index: Int) {
        self.output = out; self.needs = needs; self.layerCount = layerCount
        let d = out.hiddenSize
        classRow = out.hasClassToken && keepsClassToken ? Array(out.features[0..<d]) : nil
        var patches = out.hasClassToken ? Array(out.features[d...]) : out.features
        // VLMConfig admits extras only for LLaVA without the class token (no connector).
        if !extras.isEmpty {
            patches = VisionFeatureExtra.append(extras, to: patches, width: d, pixels: pixels, index: index,
                                                gridRows: out.gridRows, gridCols: out.gridCols)
        }
        self.patches = patches
        width = d + VisionFeatureExtra.width(of: extras)
    }

    /// The requested attention maps, columns pooled `pool` x `pool` (the pixel-shuffled grid).
    func maps(pool: Int) -> [ReducerNeeds.Attention: AttentionMap] {
        var result: [ReducerNeeds.Attention: AttentionMap] = [:]
        for a in needs.attention {
            let layer = a.layer < 0 ? layerCount + a.layer : a.layer
            let tap = EncoderTap(layer: layer, kind: a.logits ? .attentionLogits : .attentionProbabilities,
                                 clsRowOnly: a.classRowOnly && output.hasClassToken)
            guard let values = output.taps[tap] else { continue }
            let size = output.tokenCount
            var map = AttentionMap(values: values, rows: values.count / size, size: size, hasClassToken: output.hasClassToken)
            if pool > 1 { map = VisionLanguageModel.poolColumns(map, rows: output.gridRows, cols: output.gridCols, scale: pool) }
            result[a] = map
        }
        return result
    }

    /// The requested layer's head-averaged keys (class token excluded), rows pooled likewise.
    func keys(pool: Int) -> TokenMatrix? {
        guard let layer = needs.keysLayer else { return nil }
        let resolved = layer < 0 ? layerCount + layer : layer
        guard var k = output.taps[EncoderTap(layer: resolved, kind: .keys)] else { return nil }
        let hd = k.count / output.tokenCount
        if output.hasClassToken { k = Array(k[hd...]) }
        let m = TokenMatrix(values: k, count: count, width: hd)
        return pool > 1 ? VisionLanguageModel.poolRows(m, rows: output.gridRows, cols: output.gridCols, scale: pool) : m
    }
}
