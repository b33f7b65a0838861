import VLMRuntime
#if canImport(Glibc)
import Glibc
#endif

/// LLaVA-NeXT / LLaVA-OneVision AnyRes: which crop grid an image gets, and how the crops'
/// projected features are stitched back into one picture-shaped grid, unpadded, optionally
/// downsampled (anyres_max_N) and given a newline token per row. Mirrors transformers'
/// `select_best_resolution`, `unpad_image` and `pack_image_features`.
public enum AnyResPacking {
    /// The pinpoint (height, width) that keeps the most of the image's resolution, wasting the
    /// least: `select_best_resolution` (ties keep the earlier pinpoint).
    public static func bestResolution(height: Int, width: Int, pinpoints: [(Int, Int)]) -> (height: Int, width: Int) {
        var best = pinpoints.first ?? (height, width)
        var maxEffective = 0, minWasted = Int.max
        for (h, w) in pinpoints {
            let scale = min(Double(w) / Double(width), Double(h) / Double(height))
            let dw = Int(Double(width) * scale), dh = Int(Double(height) * scale)
            let effective = min(dw * dh, width * height)
            let wasted = w * h - effective
            if effective > maxEffective || (effective == maxEffective && wasted < minWasted) {
                maxEffective = effective; minWasted = wasted; best = (h, w)
            }
        }
        return best
    }

    /// The rows of the stitched crop grid that survive unpadding: transformers' `unpad_image`
    /// on a [C, gridH, gridW] map for an original image of `height x width`.
    static func unpaddedRegion(gridH: Int, gridW: Int, height: Int, width: Int) -> (r0: Int, r1: Int, c0: Int, c1: Int) {
        let originalAspect = Double(width) / Double(height)
        let currentAspect = Double(gridW) / Double(gridH)
        if originalAspect > currentAspect {
            let scale = Double(gridW) / Double(width)
            let newHeight = Int(roundTo7(Double(height) * scale))
            let padding = (gridH - newHeight) / 2
            return (padding, gridH - padding, 0, gridW)
        } else {
            let scale = Double(gridH) / Double(height)
            let newWidth = Int(roundTo7(Double(width) * scale))
            let padding = (gridW - newWidth) / 2
            return (0, gridH, padding, gridW - padding)
        }
    }

    /// Python's round(x, 7), which `unpad_image` applies before truncating.
    private static func roundTo7(_ x: Double) -> Double { (x * 1e7).rounded(.toNearestOrEven) / 1e7 }

    /// Stitches `crops` (rows*cols crops of side x side tokens, each `dim` wide, raster order)
    /// after the `base` tokens: base, then the unpadded (and, with `maxPatches`, downsampled)
    /// grid row by row with `newline` appended to each row. Returns rows x dim.
    static func pack(base: [Float], crops: [Float], rows: Int, cols: Int, side: Int, dim: Int,
                     originalHeight: Int, originalWidth: Int, newline: [Float]?, maxPatches: Int?) -> (features: [Float], count: Int) {
        let gridH = rows * side, gridW = cols * side
        let region = unpaddedRegion(gridH: gridH, gridW: gridW, height: originalHeight, width: originalWidth)
        var h = region.r1 - region.r0, w = region.c1 - region.c0
        // The stitched map, unpadded, as [h][w][dim].
        var map = [Float](repeating: 0, count: h * w * dim)
        crops.withUnsafeBufferPointer { cb in map.withUnsafeMutableBufferPointer { mb in
            for y in 0..<h { for x in 0..<w {
                let gy = y + region.r0, gx = x + region.c0
                let crop = (gy / side) * cols + gx / side
                let token = (gy % side) * side + gx % side
                (mb.baseAddress! + (y * w + x) * dim).update(from: cb.baseAddress! + (crop * side * side + token) * dim, count: dim)
            }}
        }}
        if let maxPatches {
            let ratio = (Double(h * w) / Double(maxPatches * side * side)).squareRoot()
            if ratio > 1.1 {
                let nh = Int((Double(h) / ratio).rounded(.down)), nw = Int((Double(w) / ratio).rounded(.down))
                map = bilinearResize(map, height: h, width: w, dim: dim, toHeight: nh, toWidth: nw)
                h = nh; w = nw
            }
        }
        let perRow = w + (newline == nil ? 0 : 1)
        let count = base.count / dim + h * perRow
        var out = [Float](); out.reserveCapacity(count * dim)
        out += base
        for y in 0..<h {
            out += map[(y * w * dim)..<((y + 1) * w * dim)]
            if let newline { out += newline }
        }
        return (out, count)
    }

    /// torch.nn.functional.interpolate(mode="bilinear", align_corners=False, antialias=False) on
    /// an [h][w][dim] map: source coordinate (dst + 0.5) * in/out - 0.5, clamped at 0.
    static func bilinearResize(_ x: [Float], height: Int, width: Int, dim: Int, toHeight oh: Int, toWidth ow: Int) -> [Float] {
        func taps(_ outSize: Int, _ inSize: Int) -> [(Int, Int, Float)] {
            let scale = Float(inSize) / Float(outSize)
            return (0..<outSize).map { d in
                let src = max(0, scale * (Float(d) + 0.5) - 0.5)
                let i0 = min(Int(src), inSize - 1)
                let i1 = i0 < inSize - 1 ? i0 + 1 : i0
                return (i0, i1, src - Float(i0))
            }
        }
        let ys = taps(oh, height), xs = taps(ow, width)
        var y = [Float](repeating: 0, count: oh * ow * dim)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in
            for (oy, (y0, y1, ly)) in ys.enumerated() {
                for (ox, (x0, x1, lx)) in xs.enumerated() {
                    let o = yb.baseAddress! + (oy * ow + ox) * dim
                    let a = xb.baseAddress! + (y0 * width + x0) * dim, b = xb.baseAddress! + (y0 * width + x1) * dim
                    let c = xb.baseAddress! + (y1 * width + x0) * dim, d = xb.baseAddress! + (y1 * width + x1) * dim
                    let w00 = (1 - ly) * (1 - lx), w01 = (1 - ly) * lx, w10 = ly * (1 - lx), w11 = ly * lx
                    for k in 0..<dim { o[k] = w00 * a[k] + w01 * b[k] + w10 * c[k] + w11 * d[k] }
                }
            }
        }}
        return y
    }

    /// AnyRes packing after reduction: the base image's tokens, then the crops' surviving
    /// tokens placed back in raster order of the stitched grid (tokens in the padding dropped,
    /// merged tokens at their anchor patch), with the newline token after every grid row that
    /// keeps at least one token (GlobalCom2's re-placement, used for every reducer). No
    /// anyres_max downsampling: the budget already bounds the count.
    static func packReduced(pieces: [ReducedPiece], rows: Int, cols: Int, side: Int, dim: Int,
                            originalHeight: Int, originalWidth: Int, newline: [Float]?) -> (features: [Float], count: Int) {
        let region = unpaddedRegion(gridH: rows * side, gridW: cols * side, height: originalHeight, width: originalWidth)
        var placed: [(y: Int, x: Int, order: Int, crop: Int, row: Int)] = []
        for (c, piece) in pieces.dropFirst().enumerated() {
            for (r, p) in piece.positions.enumerated() where p >= 0 {
                let gy = (c / cols) * side + p / piece.gridCols, gx = (c % cols) * side + p % piece.gridCols
                guard gy >= region.r0, gy < region.r1, gx >= region.c0, gx < region.c1 else { continue }
                placed.append((gy, gx, placed.count, c + 1, r))
            }
        }
        placed.sort { ($0.y, $0.x, $0.order) < ($1.y, $1.x, $1.order) }
        var out = pieces[0].rows
        var count = pieces[0].count
        for (i, p) in placed.enumerated() {
            out += pieces[p.crop].rows[(p.row * dim)..<((p.row + 1) * dim)]
            count += 1
            if let newline, i + 1 == placed.count || placed[i + 1].y != p.y { out += newline; count += 1 }
        }
        return (out, count)
    }
}
