/// VisionZip: dominant tokens chosen by the attention they draw, plus a few contextual tokens
/// that merge the rest by key similarity. Inputs from encoder layer -2 (the layer LLaVA
/// projects): attention probabilities, hidden states (the tokens) and head-averaged keys.
///
/// - Dominant: the patches with the most attention from the class token; for encoders without
///   one (SigLIP), the attention each patch receives averaged over all queries.
/// - Contextual: of the remaining tokens (ascending order), `contextual` targets are taken
///   uniformly (step = max(1, R / contextual)); every other remaining token joins its most
///   similar target by cosine of L2-normalised keys; a contextual token is
///   hidden[target] + mean(hidden[joined]) (the target is added, not averaged in).
///
/// The published split is 54 + 10 = 64 (ratio kept for other budgets). The paper keeps the
/// class token among the dominant ones; LLaVA drops the class token before its projector, so
/// here all `dominant` slots go to patches and the budget counts exactly the tokens fed.
public struct VisionZipReducer: TokenReducer, RegisteredReducer {
    /// Contextual tokens; nil means the published 10/64 of the budget.
    public var contextual: Int?
    public init(contextual: Int? = nil) { self.contextual = contextual }
    public static let reducerName = "visionzip"
    public static let optionNames = ["contextual"]
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer {
        VisionZipReducer(contextual: try options.int("contextual", in: 0...100_000))
    }
    public var needs: ReducerNeeds {
        ReducerNeeds(attention: [.init(layer: -2, classRowOnly: true)], keysLayer: -2)
    }

    public static func split(budget: Int, contextual: Int?) -> (dominant: Int, contextual: Int) {
        let c = min(max(0, contextual ?? Int((Double(budget) * 10 / 64).rounded())), budget - 1)
        return (budget - c, c)
    }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        let n = input.tokens.count, d = input.tokens.width
        guard let map = input.attention[.init(layer: -2, classRowOnly: true)], let keys = input.keys else {
            throw ReducerError.missingEvidence("visionzip needs layer -2 attention and keys")
        }
        let (dominantCount, contextualCount) = Self.split(budget: min(budget, n), contextual: contextual)
        let scores = ReducerMath.patchScores(map, classRow: true)
        let dominant = ReducerMath.topK(scores, dominantCount).sorted()
        var isDominant = [Bool](repeating: false, count: n)
        for i in dominant { isDominant[i] = true }
        let remaining = (0..<n).filter { !isDominant[$0] }
        guard contextualCount > 0, !remaining.isEmpty else { return ReductionResult(kept: dominant) }
        let step = max(1, remaining.count / contextualCount)
        let targetPositions = Array(stride(from: 0, to: remaining.count, by: step).prefix(contextualCount))
        let targets = targetPositions.map { remaining[$0] }
        let isTarget = Set(targets)
        let others = remaining.filter { !isTarget.contains($0) }
        let unitKeys = ReducerMath.normalizedRows(keys)
        func rows(_ idx: [Int]) -> [Float] { idx.flatMap { unitKeys[($0 * keys.width)..<(($0 + 1) * keys.width)] } }
        let similarity = ReducerMath.products(rows(others), rows: others.count, rows(targets), rows: targets.count, width: keys.width)
        var sums = [Float](repeating: 0, count: targets.count * d)
        var counts = [Int](repeating: 0, count: targets.count)
        for (o, token) in others.enumerated() {
            var best = 0
            for t in 1..<max(1, targets.count) where similarity[o * targets.count + t] > similarity[o * targets.count + best] { best = t }
            counts[best] += 1
            for j in 0..<d { sums[best * d + j] += input.tokens.values[token * d + j] }
        }
        var merged = [Float](repeating: 0, count: targets.count * d)
        for (t, target) in targets.enumerated() {
            let inv = 1 / Float(max(1, counts[t]))
            for j in 0..<d { merged[t * d + j] = input.tokens.values[target * d + j] + sums[t * d + j] * inv }
        }
        return ReductionResult(kept: dominant, merged: merged, mergedCount: targets.count, mergedAnchors: targets)
    }
}

public enum ReducerError: Error, CustomStringConvertible {
    case missingEvidence(String)
    public var description: String {
        switch self { case .missingEvidence(let m): return m }
    }
}
