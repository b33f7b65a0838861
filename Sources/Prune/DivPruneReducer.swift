/// DivPrune: keep the most diverse subset, a max-min (farthest-point) selection under cosine
/// distance in the LLM's embedding space. No attention needed, so it works for every encoder.
/// The first pick is the token whose nearest neighbour is farthest; each next pick maximises
/// its distance to the nearest picked token. Unlike the reference code, nothing assumes a
/// batch of one or a fixed system-prompt length: it sees only this image's tokens.
public struct DivPruneReducer: TokenReducer, RegisteredReducer {
    public init() {}
    public static let reducerName = "divprune"
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer { DivPruneReducer() }
    public var needs: ReducerNeeds { ReducerNeeds(projected: true) }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        let x = input.projected ?? input.tokens
        let n = x.count, k = min(budget, n)
        let unit = ReducerMath.normalizedRows(x)
        let cosine = ReducerMath.products(unit, rows: n, unit, rows: n, width: x.width)
        func distance(_ i: Int, _ j: Int) -> Float { 1 - cosine[i * n + j] }
        // First pick: max over j of the smallest off-diagonal distance in column j.
        var first = 0, best = -Float.infinity
        for j in 0..<n {
            var m = Float.infinity
            for i in 0..<n where i != j { m = min(m, distance(i, j)) }
            if n == 1 { m = 0 }
            if m > best { best = m; first = j }
        }
        var picked = [first]
        var isPicked = [Bool](repeating: false, count: n); isPicked[first] = true
        var nearest = (0..<n).map { distance(first, $0) }
        while picked.count < k {
            var next = -1, far = -Float.infinity
            for j in 0..<n where !isPicked[j] && nearest[j] > far { far = nearest[j]; next = j }
            picked.append(next); isPicked[next] = true
            for j in 0..<n { nearest[j] = min(nearest[j], distance(next, j)) }
        }
        return ReductionResult(kept: picked.sorted())
    }
}
