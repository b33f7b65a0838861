import VLMRuntime

/// Keeps a uniformly random subset of `budget` tokens, reproducible from its seed: the
/// baseline every published reducer must beat. Partial Fisher-Yates over the indices.
public struct RandomReducer: TokenReducer, RegisteredReducer {
    public let seed: UInt64
    public init(seed: UInt64 = 0) { self.seed = seed }
    public static let reducerName = "random"
    public static let optionNames = ["seed"]
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer {
        RandomReducer(seed: try options.int("seed", in: 0...Int.max).map(UInt64.init) ?? options.seed)
    }
    public var needs: ReducerNeeds { ReducerNeeds() }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        ReductionResult(kept: Self.choose(count: input.tokens.count, budget: budget, seed: seed))
    }

    public static func choose(count: Int, budget: Int, seed: UInt64) -> [Int] {
        let k = max(0, min(budget, count))
        var rng = SeededGenerator(seed: seed)
        var indices = Array(0..<count)
        for i in 0..<k {
            let j = i + Int(rng.next() % UInt64(count - i))
            indices.swapAt(i, j)
        }
        return indices[0..<k].sorted()
    }
}
