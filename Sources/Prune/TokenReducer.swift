/// A visual-token reducer: given the visual tokens of one image (or frame), chooses which reach
/// the LLM. This first form covers the reducers that need no encoder taps (`none`, `random`);
/// the attention-based reducers of ../shared/REDUCERS.md extend the inputs with taps.
public protocol TokenReducer: Sendable {
    /// The name used by `--reducer`.
    var name: String { get }
    /// Indices (ascending, so spatial order is kept) of the tokens to keep out of `count`,
    /// at most `budget` of them.
    func keep(count: Int, budget: Int) -> [Int]
}

/// Keeps every token: the unreduced baseline.
public struct NoReducer: TokenReducer {
    public init() {}
    public var name: String { "none" }
    public func keep(count: Int, budget: Int) -> [Int] { Array(0..<count) }
}
