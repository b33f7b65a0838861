/// HiPrune: anchors from a middle (object) layer's attention, their grid neighbours as
/// buffers, and registers from a deep layer's attention.
///
/// Score of a layer = attention received: head-averaged probabilities averaged over all query
/// rows (class row included), patch columns only. Anchors: the top round(k * alpha / 5)
/// tokens by object-layer score (alpha = 0.1); buffers: each anchor's 4-neighbours on the real
/// patch grid (the reference code's index +-1 / +-24 wraps across rows; here neighbours stop
/// at the borders); registers: the rest of the budget by deep-layer (-2) score among tokens
/// not yet kept. Kept indices ascending.
public struct HiPruneReducer: TokenReducer, RegisteredReducer {
    public var alpha: Double
    /// 0-based object layer; nil picks the published 9th of 24, scaled to the encoder depth.
    public var objectLayer: Int?
    public var layerCount: Int

    public init(alpha: Double = 0.1, objectLayer: Int? = nil, layerCount: Int) {
        self.alpha = alpha; self.objectLayer = objectLayer; self.layerCount = layerCount
    }
    public static let reducerName = "hiprune"
    public static let optionNames = ["alpha", "object_layer"]
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer {
        HiPruneReducer(alpha: try options.double("alpha", expected: "in [0, 1]") { $0 >= 0 && $0 <= 1 } ?? 0.1,
                       objectLayer: try options.int("object_layer", in: 0...max(0, options.encoderLayers - 1)),
                       layerCount: options.encoderLayers)
    }

    public var resolvedObjectLayer: Int {
        objectLayer ?? max(0, Int((Double(layerCount) * 9 / 24).rounded()) - 1)
    }

    public var needs: ReducerNeeds {
        ReducerNeeds(attention: [.init(layer: resolvedObjectLayer), .init(layer: -2)])
    }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        let n = input.tokens.count, k = min(budget, n)
        guard let objectMap = input.attention[.init(layer: resolvedObjectLayer)],
              let deepMap = input.attention[.init(layer: -2)] else {
            throw ReducerError.missingEvidence("hiprune needs attention of layers \(resolvedObjectLayer) and -2")
        }
        let objectScores = ReducerMath.patchScores(objectMap, classRow: false)
        let deepScores = ReducerMath.patchScores(deepMap, classRow: false)
        let anchorCount = Int((Double(k) * alpha / 5 + 0.5).rounded(.down))
        var kept: [Int] = []
        var isKept = [Bool](repeating: false, count: n)
        func add(_ i: Int) { if kept.count < k && !isKept[i] { isKept[i] = true; kept.append(i) } }
        let anchors = ReducerMath.topK(objectScores, anchorCount)
        for a in anchors { add(a) }
        for a in anchors {
            let r = a / input.gridCols, c = a % input.gridCols
            if r > 0 { add(a - input.gridCols) }
            if r + 1 < input.gridRows { add(a + input.gridCols) }
            if c > 0 { add(a - 1) }
            if c + 1 < input.gridCols { add(a + 1) }
        }
        for i in ReducerMath.topK(deepScores, k - kept.count, among: (0..<n).filter { !isKept[$0] }) { add(i) }
        return ReductionResult(kept: kept.sorted())
    }
}
