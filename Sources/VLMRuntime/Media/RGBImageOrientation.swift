extension RGBImage {

    public func oriented(exif orientation: Int) -> RGBImage {
        let image = self
        let w = image.width, h = image.height
        let swaps = orientation >= 5
        let ow = swaps ? h : w, oh = swaps ? w : h
        guard (2...8).contains(orientation) else { return image }
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { dst in
            for y in 0..<oh {
                for x in 0..<ow {
                    let (sx, sy): (Int, Int)
                    switch orientation {
                    case 2: (sx, sy) = (w - 1 - x, y)              // FLIP_LEFT_RIGHT
                    case 3: (sx, sy) = (w - 1 - x, h - 1 - y)      // ROTATE_180
                    case 4: (sx, sy) = (x, h - 1 - y)              // FLIP_TOP_BOTTOM
                    case 5: (sx, sy) = (y, x)                      // TRANSPOSE
                    case 6: (sx, sy) = (y, h - 1 - x)              // ROTATE_270 (clockwise 90)
                    case 7: (sx, sy) = (w - 1 - y, h - 1 - x)      // TRANSVERSE
                    default: (sx, sy) = (w - 1 - y, x)             // 8: ROTATE_90 (counter-clockwise)
                    }
                    let s = (sy * w + sx) * 3, d = (y * ow + x) * 3
                    dst[d] = src[s]; dst[d + 1] = src[s + 1]; dst[d + 2] = src[s + 2]
                }
            }
        }}
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
