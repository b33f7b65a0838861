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
public struct GlobalCom2Reducer: TokenReducer {
    public var tau: Float
    public init(tau: Float = 10) { self.tau = tau }
    public var name: String { "globalcom2" }
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

    /// Per-crop guidance from the thumbnail's scores (side x side) for a rows x cols crop grid at
    /// retention R: the crop scales and the thumbnail map resized to the crop grid, cut per crop.
    public static func guidance(thumbnailScores t: [Float], side: Int, rows: Int, cols: Int, retention r: Float,
                                tau: Float = 10) -> [ThumbnailGuidance] {
        // S_i: the thumbnail's scores summed over the region crop i covers.
        var sums = [Float]()
        for i in 0..<rows { for j in 0..<cols {
            let (y0, y1) = ReducerMath.bounds(i, rows, side), (x0, x1) = ReducerMath.bounds(j, cols, side)
            var s: Float = 0
            for y in y0..<y1 { for x in x0..<x1 { s += t[y * side + x] } }
            sums.append(s)
        }}
        let m = sums.map { $0 / tau }.max() ?? 0
        let e = sums.map { expf($0 / tau - m) }
        let total = e.reduce(0, +)
        let sigma = e.map { $0 / total }
        let meanSigma = sigma.reduce(0, +) / Float(sigma.count)
        let scales = sigma.map { min(1, r * (1 + $0 - meanSigma)) }
        let resized = bilinear(t, height: side, width: side, toHeight: rows * side, toWidth: cols * side)
        var out: [ThumbnailGuidance] = []
        for i in 0..<rows { for j in 0..<cols {
            var crop = [Float](); crop.reserveCapacity(side * side)
            for y in 0..<side { for x in 0..<side { crop.append(resized[(i * side + y) * cols * side + j * side + x]) } }
            out.append(ThumbnailGuidance(scores: crop, scale: scales[i * cols + j]))
        }}
        return out
    }

    /// torch's bilinear interpolate (align_corners=False) of a single-channel map.
    static func bilinear(_ x: [Float], height: Int, width: Int, toHeight oh: Int, toWidth ow: Int) -> [Float] {
        func taps(_ o: Int, _ n: Int) -> [(Int, Int, Float)] {
            let scale = Float(n) / Float(o)
            return (0..<o).map { d in
                let src = max(0, scale * (Float(d) + 0.5) - 0.5)
                let i0 = min(Int(src), n - 1)
                return (i0, i0 < n - 1 ? i0 + 1 : i0, src - Float(i0))
            }
        }
        let ys = taps(oh, height), xs = taps(ow, width)
        var y = [Float](repeating: 0, count: oh * ow)
        for (a, (y0, y1, ly)) in ys.enumerated() { for (b, (x0, x1, lx)) in xs.enumerated() {
            y[a * ow + b] = (1 - ly) * ((1 - lx) * x[y0 * width + x0] + lx * x[y0 * width + x1])
                + ly * ((1 - lx) * x[y1 * width + x0] + lx * x[y1 * width + x1])
        }}
        return y
    }
}
