import VLMRuntime
/// Which patches of each encoder image reached the LLM, and the picture `--show-kept` writes:
/// every encoder image (base/thumbnail first, then crops or tiles) side by side as the encoder
/// saw it, kept patches as they are, dropped ones dimmed to a quarter, and the anchor patch of
/// each merged token outlined in yellow.
public struct KeptPatchMap: Sendable {
    public var gridRows: Int
    public var gridCols: Int
    public var kept: [Int]
    public var merged: [Int]
}

public enum KeptPatchPicture {
    public static func render(_ image: ProcessedImage, maps: [KeptPatchMap]) -> RGBImage {
        let p = image.pixels, h = p.height, w = p.width, gap = 4
        let width = p.count * w + (p.count - 1) * gap
        var out = [UInt8](repeating: 255, count: width * h * 3)
        let plane = h * w
        for i in 0..<p.count {
            let base = i * p.imageStride
            // Normalised pixels back to 0-255 by each image's own range (the processor's mean
            // and std are not needed for a picture).
            let slice = p.data[base..<(base + p.imageStride)]
            let lo = slice.min() ?? 0, hi = slice.max() ?? 1
            let scale = hi > lo ? 255 / (hi - lo) : 0
            let map = i < maps.count ? maps[i] : nil
            var keptCells = Set<Int>(), mergedCells = Set<Int>()
            if let map { keptCells = Set(map.kept); mergedCells = Set(map.merged) }
            let cellH = map.map { h / max(1, $0.gridRows) } ?? h, cellW = map.map { w / max(1, $0.gridCols) } ?? w
            for y in 0..<h {
                for x in 0..<w {
                    let cell = map.map { min($0.gridRows - 1, y / cellH) * $0.gridCols + min($0.gridCols - 1, x / cellW) } ?? 0
                    let shown = map == nil || keptCells.contains(cell) || mergedCells.contains(cell)
                    let border = mergedCells.contains(cell) && !keptCells.contains(cell)
                        && (y % cellH == 0 || x % cellW == 0 || y % cellH == cellH - 1 || x % cellW == cellW - 1)
                    let o = (y * width + i * (w + gap) + x) * 3
                    for c in 0..<3 {
                        var v = (p.data[base + c * plane + y * w + x] - lo) * scale
                        if !shown { v *= 0.25 }
                        if border { v = c == 2 ? 0 : 255 }
                        out[o + c] = UInt8(max(0, min(255, v.rounded())))
                    }
                }
            }
        }
        return RGBImage(width: width, height: h, pixels: out)
    }
}
