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
    /// random components of published shapes and run exactly this).
    static func encodePiece(_ pixels: PixelBatch, index: Int, encoder: any VisionEncoder, request base: EncoderRequest,
                            reduction: TokenReduction?, keepsClassToken: Bool, projector: MLPProjector?,
                            connector: PixelShuffleConnector?, guidance: ThumbnailGuidance? = nil,
                            extras: [VisionFeatureExtra] = []) throws -> ReducedPiece {
        var request = base
        let reducer = try reduction?.imageReducer()
        let needs = reducer?.needs ?? ReducerNeeds()
        for a in needs.attention {
            request.taps.append(EncoderTap(layer: a.layer, kind: a.logits ? .attentionLogits : .attentionProbabilities,
                                           clsRowOnly: a.classRowOnly && encoder.hasClassToken))
        }
        if let layer = needs.keysLayer { request.taps.append(EncoderTap(layer: layer, kind: .keys)) }
        let out = try encoder.encode(pixels, index: index, request: request)
        var d = out.hiddenSize
        // The patch tokens (class token set aside: LLaVA's "default" strategy drops it; a
        // "full" strategy keeps it in front, unreduced).
        let hasCLS = out.hasClassToken
        let classRow: [Float]? = hasCLS && keepsClassToken ? Array(out.features[0..<d]) : nil
        var patches = hasCLS ? Array(out.features[d...]) : out.features
        let n = out.gridRows * out.gridCols
        if !extras.isEmpty {
            // VLMConfig admits extras only for LLaVA without the class token (no connector).
            patches = VisionFeatureExtra.append(extras, to: patches, width: d, pixels: pixels, index: index,
                                                gridRows: out.gridRows, gridCols: out.gridCols)
            d += VisionFeatureExtra.width(of: extras)
        }

        // Attention maps and keys as the reducer declared them.
        func maps(pool: Int) -> [ReducerNeeds.Attention: AttentionMap] {
            var result: [ReducerNeeds.Attention: AttentionMap] = [:]
            for a in needs.attention {
                let layer = a.layer < 0 ? encoder.layerCount + a.layer : a.layer
                let tap = EncoderTap(layer: layer, kind: a.logits ? .attentionLogits : .attentionProbabilities,
                                     clsRowOnly: a.classRowOnly && hasCLS)
                guard let values = out.taps[tap] else { continue }
                let size = out.tokenCount
                var map = AttentionMap(values: values, rows: values.count / size, size: size, hasClassToken: hasCLS)
                if pool > 1 { map = Self.poolColumns(map, side: out.gridRows, scale: pool) }
                result[a] = map
            }
            return result
        }
        func keys(pool: Int) -> TokenMatrix? {
            guard let layer = needs.keysLayer else { return nil }
            let resolved = layer < 0 ? encoder.layerCount + layer : layer
            guard var k = out.taps[EncoderTap(layer: resolved, kind: .keys)] else { return nil }
            let hd = k.count / out.tokenCount
            if hasCLS { k = Array(k[hd...]) }
            if pool > 1 { return Self.poolRows(TokenMatrix(values: k, count: n, width: hd), side: out.gridRows, scale: pool) }
            return TokenMatrix(values: k, count: n, width: hd)
        }

        if let connector {
            // Idefics3: reduce after the pixel shuffle, on the connector's outputs and its grid.
            let rows = try connector(patches, tokens: n, dim: d)
            let s = connector.scale, side = out.gridRows / s
            let full = TokenMatrix(values: rows, count: side * side, width: rows.count / (side * side))
            guard let reduction, let reducer else {
                return ReducedPiece(rows: rows, count: full.count, positions: Array(0..<full.count), gridRows: side, gridCols: side, fullCount: full.count)
            }
            let input = ReductionInput(tokens: full, gridRows: side, gridCols: side, projected: full, attention: maps(pool: s), keys: keys(pool: s),
                                       thumbnailGuidance: guidance)
            let t0 = ProcessStats.now
            let result = try reducer.reduce(input, budget: try reduction.tokens(of: full.count))
            let reduceSeconds = ProcessStats.now - t0
            var kept = result.kept.flatMap { full[$0] }
            kept += result.merged
            return ReducedPiece(rows: kept, count: result.count, positions: result.kept + result.mergedAnchors, gridRows: side, gridCols: side,
                                fullCount: full.count, reduceSeconds: reduceSeconds, keptCount: result.kept.count)
        }
        guard let projector else { throw VLMError.badInput("the model has neither a projector nor a connector") }
        let tokens = TokenMatrix(values: patches, count: n, width: d)
        var rows: [Float], count: Int, positions: [Int]
        var reduceSeconds = 0.0
        var scores: [Float]? = nil
        var keptCount: Int? = nil
        if let reduction, let reducer {
            let projected = needs.projected ? TokenMatrix(values: projector(patches, rows: n), count: n, width: projector.outFeatures) : nil
            let input = ReductionInput(tokens: tokens, gridRows: out.gridRows, gridCols: out.gridCols, projected: projected,
                                       attention: maps(pool: 1), keys: keys(pool: 1), thumbnailGuidance: guidance)
            scores = try reducer.imageGuidanceScores(input)
            let t0 = ProcessStats.now
            let result = try reducer.reduce(input, budget: try reduction.tokens(of: n))
            reduceSeconds = ProcessStats.now - t0
            if let projected {
                rows = result.kept.flatMap { projected[$0] }
                if result.mergedCount > 0 { rows += projector(result.merged, rows: result.mergedCount) }
            } else {
                rows = projector(result.kept.flatMap { tokens[$0] } + result.merged, rows: result.count)
            }
            count = result.count
            positions = result.kept + result.mergedAnchors
            keptCount = (classRow == nil ? 0 : 1) + result.kept.count
        } else {
            rows = projector(patches, rows: n); count = n; positions = Array(0..<n)
        }
        if let classRow {
            rows = projector(classRow, rows: 1) + rows; count += 1; positions = [-1] + positions
        }
        return ReducedPiece(rows: rows, count: count, positions: positions, gridRows: out.gridRows, gridCols: out.gridCols,
                            fullCount: n + (classRow == nil ? 0 : 1), reduceSeconds: reduceSeconds, scores: scores, keptCount: keptCount)
    }

    /// An attention map over the pixel-shuffled grid: columns of each scale x scale group summed
    /// (attention received by the merged token), rows unchanged.
    static func poolColumns(_ map: AttentionMap, side: Int, scale s: Int) -> AttentionMap {
        let first = map.hasClassToken ? 1 : 0, outSide = side / s
        let size = first + outSide * outSide
        var values = [Float](repeating: 0, count: map.rows * size)
        for r in 0..<map.rows {
            if first == 1 { values[r * size] = map.values[r * map.size] }
            for y in 0..<side { for x in 0..<side {
                let target = first + (y / s) * outSide + x / s
                values[r * size + target] += map.values[r * map.size + first + y * side + x]
            }}
        }
        return AttentionMap(values: values, rows: map.rows, size: size, hasClassToken: map.hasClassToken)
    }

    /// Rows of each scale x scale group averaged (keys of the pixel-shuffled tokens).
    static func poolRows(_ m: TokenMatrix, side: Int, scale s: Int) -> TokenMatrix {
        let outSide = side / s, w = m.width
        var values = [Float](repeating: 0, count: outSide * outSide * w)
        for y in 0..<side { for x in 0..<side {
            let o = ((y / s) * outSide + x / s) * w, src = (y * side + x) * w
            for j in 0..<w { values[o + j] += m.values[src + j] / Float(s * s) }
        }}
        return TokenMatrix(values: values, count: outSide * outSide, width: w)
    }
}
