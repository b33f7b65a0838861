import Prune
import VLMRuntime

/// A reducer with its budget, as the options chose them. The reducer is of one of Prune's two
/// kinds: an image reducer (per encoder image, to a budget) or a temporal one (across a
/// video's frames; it sizes itself).
public struct TokenReduction: Sendable {
    public enum Budget: Sendable { case tokens(Int), ratio(Double) }
    /// The image reducer; nil when the reducer is temporal.
    public var reducer: (any TokenReducer)?
    /// The temporal reducer; nil when the reducer reduces images.
    public var temporal: (any TemporalTokenReducer)?
    public var budget: Budget

    public init(reducer: any VisualTokenReducer, budget: Budget) {
        self.reducer = reducer as? any TokenReducer
        self.temporal = reducer as? any TemporalTokenReducer
        self.budget = budget
    }

    /// The reduction `--reducer NAME` with `--keep`/`--keep-ratio`/`--reducer-opt` asks for; nil for `none`.
    public static func make(name: String, options: [String], seed: UInt64, keep: Int?, keepRatio: Double?,
                            encoderLayers: Int) throws -> TokenReduction? {
        guard name != "none" else { return nil }
        let reducer = try ReducerRegistry.make(name: name, options: options, seed: seed, encoderLayers: encoderLayers)
        return TokenReduction(reducer: reducer, budget: keep.map { .tokens($0) } ?? .ratio(keepRatio ?? 1))
    }

    public var name: String { reducer?.name ?? temporal?.name ?? "none" }

    /// The image reducer, or a usage error when this reduction works across video frames only.
    func imageReducer() throws -> any TokenReducer {
        guard let reducer else {
            throw VLMError.usage("\(name) merges tokens across video frames; give it a video (for images use another reducer)")
        }
        return reducer
    }

    /// Tokens to keep out of `count` (per encoder image: image, crop, tile or frame).
    public func tokens(of count: Int) throws -> Int {
        switch budget {
        case .tokens(let k):
            guard k >= 1 else { throw VLMError.usage("--keep must be at least 1") }
            guard k <= count else { throw VLMError.usage("--keep \(k) is more than the \(count) visual tokens per image of this model") }
            return k
        case .ratio(let r):
            guard r > 0, r <= 1 else { throw VLMError.usage("--keep-ratio must be in (0, 1]") }
            return max(1, Int((Double(count) * r).rounded()))
        }
    }
}
