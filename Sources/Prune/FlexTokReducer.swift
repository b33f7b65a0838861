/// FlexTok-style ordered 1D tokens, training-free: coarse-to-fine region means of the patch
/// grid, emitted level by level (1 global mean, then 2x2, 4x4, ... regions, raster order
/// within a level, regions as torch's adaptive pooling cuts them), so every prefix of length
/// k is a valid summary and one encoding serves every budget. A budget of k takes the first k.
public struct FlexTokReducer: TokenReducer, RegisteredReducer {
    public init() {}
    public static let reducerName = "flextok"
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer { FlexTokReducer() }
    public var needs: ReducerNeeds { ReducerNeeds() }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        let rows = input.gridRows, cols = input.gridCols, d = input.tokens.width
        let k = min(budget, input.tokens.count)
        var merged: [Float] = []; merged.reserveCapacity(k * d)
        var anchors: [Int] = []
        var side = 1
        outer: while true {
            for i in 0..<side {
                let (y0, y1) = ReducerMath.bounds(i, side, rows)
                for j in 0..<side {
                    if anchors.count == k { break outer }
                    let (x0, x1) = ReducerMath.bounds(j, side, cols)
                    var mean = [Float](repeating: 0, count: d)
                    for y in y0..<y1 { for x in x0..<x1 {
                        let s = (y * cols + x) * d
                        for c in 0..<d { mean[c] += input.tokens.values[s + c] }
                    }}
                    let inv = 1 / Float((y1 - y0) * (x1 - x0))
                    merged += mean.map { $0 * inv }
                    anchors.append(((y0 + y1 - 1) / 2) * cols + (x0 + x1 - 1) / 2)
                }
            }
            side *= 2
        }
        return ReductionResult(kept: [], merged: merged, mergedCount: anchors.count, mergedAnchors: anchors)
    }
}
