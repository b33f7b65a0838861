import VLMRuntime
/// Resizes a ViT's learned position grid to another patch grid, as DINOv2 does for inputs of
/// a size other than its training size: torch's `interpolate(mode="bicubic",
/// align_corners=False)`, i.e. cubic convolution with A = -0.75, source coordinate
/// (dst + 0.5) * in / out - 0.5, border taps clamped.
enum PositionInterpolation {
    /// `grid` is side x side x dim; returns rows x cols x dim.
    static func bicubic(_ grid: [Float], side: Int, dim: Int, rows: Int, cols: Int) -> [Float] {
        func cubic1(_ x: Double) -> Double { let a = -0.75; return ((a + 2) * x - (a + 3)) * x * x + 1 }
        func cubic2(_ x: Double) -> Double { let a = -0.75; return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
        func taps(_ outSize: Int) -> [(index: [Int], weight: [Double])] {
            let scale = Double(side) / Double(outSize)
            return (0..<outSize).map { d in
                let src = scale * (Double(d) + 0.5) - 0.5
                let i = Int(src.rounded(.down)), t = src - Double(i)
                let w = [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)]
                return ((i - 1...i + 2).map { min(max($0, 0), side - 1) }, w)
            }
        }
        let ys = taps(rows), xs = taps(cols)
        var out = [Float](repeating: 0, count: rows * cols * dim)
        var acc = [Double](repeating: 0, count: dim)
        for (oy, ty) in ys.enumerated() {
            for (ox, tx) in xs.enumerated() {
                for k in 0..<dim { acc[k] = 0 }
                for a in 0..<4 {
                    for b in 0..<4 {
                        let w = ty.weight[a] * tx.weight[b]
                        let base = (ty.index[a] * side + tx.index[b]) * dim
                        for k in 0..<dim { acc[k] += w * Double(grid[base + k]) }
                    }
                }
                let o = (oy * cols + ox) * dim
                for k in 0..<dim { out[o + k] = Float(acc[k]) }
            }
        }
        return out
    }
}
