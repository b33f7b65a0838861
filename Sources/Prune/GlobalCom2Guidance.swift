#if canImport(Glibc)
import Glibc
#endif

/// GlobalCom2's image-level step: the thumbnail (AnyRes base image) is scored first, and its
/// scores set each crop's share of the budget and guide which of the crop's tokens survive.
/// The family calls these through `TokenReducer`'s image-level entry point; only the
/// family knows the crop grid and which crop tokens are padding (`ThumbnailGuidance.valid`).
extension GlobalCom2Reducer {
    public func imageGuidanceScores(_ input: ReductionInput) throws -> [Float]? { try scores(input) }

    public func cropGuidance(baseScores: [Float], side: Int, rows: Int, cols: Int, retention: Float) -> [ThumbnailGuidance]? {
        Self.guidance(thumbnailScores: baseScores, side: side, rows: rows, cols: cols, retention: retention, tau: tau)
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
