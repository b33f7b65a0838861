#if canImport(Glibc)
import Glibc
#endif

/// GlobalCom2: AnyRes compression guided by the thumbnail. Scores are the class-token row of
/// the last encoder layer's head-averaged attention logits (for encoders without a class
/// token, the logits each patch receives averaged over queries).
///
/// - Thumbnail (and any image without crops): keep the top `budget` patches, i.e. a retention
///   R = budget / N.
/// - Crops: each crop's share of R follows how much the thumbnail attends to the region the
///   crop covers: S_i summed thumbnail scores of that region, sigma = softmax(S / tau),
///   scale_i = min(1, R * (1 + sigma_i - mean(sigma))). A crop keeps floor(N_valid * scale_i)
///   tokens (N_valid: tokens not in the AnyRes padding) by the sum of its own L2-normalised
///   scores and the L2-normalised thumbnail scores bilinearly resized to the whole crop grid
///   and cut to this crop. The family re-places kept tokens in raster order with newlines.
public struct GlobalCom2Reducer: TokenReducer, RegisteredReducer {
    public var tau: Float
    public init(tau: Float = 10) { self.tau = tau }
    public static let reducerName = "globalcom2"
    public static let optionNames = ["tau"]
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer {
        let tau = try options.double("tau", expected: "a positive number") { $0 > 0 && $0 < 1e6 } ?? 10
        return GlobalCom2Reducer(tau: Float(tau))
    }
    public var needs: ReducerNeeds { ReducerNeeds(attention: [.init(layer: -1, logits: true, classRowOnly: true)]) }

    /// The patch scores this method ranks by.
    public func scores(_ input: ReductionInput) throws -> [Float] {
        guard let map = input.attention[.init(layer: -1, logits: true, classRowOnly: true)] else {
            throw ReducerError.missingEvidence("globalcom2 needs the last layer's attention logits")
        }
        return ReducerMath.patchScores(map, classRow: true)
    }

    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        let own = try scores(input)
        guard let guidance = input.thumbnailGuidance else {
            return ReductionResult(kept: ReducerMath.topK(own, budget).sorted())
        }
        let combined = zip(Self.l2Normalized(own), Self.l2Normalized(guidance.scores)).map { $0 + $1 }
        let valid = (0..<input.tokens.count).filter { guidance.valid?[$0] ?? true }
        let k = min(valid.count, Int((Float(valid.count) * guidance.scale).rounded(.down)))
        return ReductionResult(kept: ReducerMath.topK(combined, k, among: valid).sorted())
    }

    static func l2Normalized(_ v: [Float]) -> [Float] {
        let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
}
