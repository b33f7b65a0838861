/// Uniform spatial pooling to the budget: the patch grid average-pooled (torch's
/// `adaptive_avg_pool2d` regions) to the largest grid of at most `budget` cells with the
/// input's aspect ratio. Image downsampling by another name, and a strong baseline that
/// several pruning papers lose to. Every output token is a merged one.
public struct PoolReducer: TokenReducer, RegisteredReducer {
    public init() {}
    public static let reducerName = "pool"
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer { PoolReducer() }
    public var needs: ReducerNeeds { ReducerNeeds() }

    /// The pooled grid: rows x cols <= budget, rows/cols as close to the input's as allowed.
    public static func grid(rows: Int, cols: Int, budget: Int) -> (rows: Int, cols: Int) {
        if rows * cols <= budget { return (rows, cols) }
        var best = (1, 1)
        for r in 1...rows {
            let c = min(cols, budget / r)
            guard c >= 1 else { break }
            let score = r * c, bestScore = best.0 * best.1
            let aspect = abs(Double(r) / Double(c) - Double(rows) / Double(cols))
            let bestAspect = abs(Double(best.0) / Double(best.1) - Double(rows) / Double(cols))
            if score > bestScore || (score == bestScore && aspect < bestAspect) { best = (r, c) }
        }
        return best
    }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        let (r, c) = Self.grid(rows: input.gridRows, cols: input.gridCols, budget: budget)
        if r == input.gridRows && c == input.gridCols { return ReductionResult(kept: Array(0..<input.tokens.count)) }
        let d = input.tokens.width, rows = input.gridRows, cols = input.gridCols
        var merged = [Float](repeating: 0, count: r * c * d)
        var anchors: [Int] = []
        for i in 0..<r {
            let y0 = i * rows / r, y1 = ((i + 1) * rows + r - 1) / r
            for j in 0..<c {
                let x0 = j * cols / c, x1 = ((j + 1) * cols + c - 1) / c
                let o = (i * c + j) * d
                for y in y0..<y1 { for x in x0..<x1 {
                    let s = (y * cols + x) * d
                    for k in 0..<d { merged[o + k] += input.tokens.values[s + k] }
                }}
                let inv = 1 / Float((y1 - y0) * (x1 - x0))
                for k in 0..<d { merged[o + k] *= inv }
                anchors.append(((y0 + y1 - 1) / 2) * cols + (x0 + x1 - 1) / 2)
            }
        }
        return ReductionResult(kept: [], merged: merged, mergedCount: r * c, mergedAnchors: anchors)
    }
}
