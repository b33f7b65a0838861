/// Dequantization of ggml block formats to Float, exactly as ggml's reference
/// `dequantize_row_*` functions compute them (the same operation order, so results are
/// bit-identical to gguf-py's NumPy dequantizer). `src` points at whole blocks of one row.
public enum Dequantize {
    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// Dequantizes `count` values (a whole number of blocks) of type `type` from `src`.
    /// Long (about 120 lines) on purpose: one switch over the GGML block formats, each case a
    /// short loop over its block layout, readable side by side with ggml-quants.c.
    public static func row(_ type: GGMLType, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
        let blocks = count / type.blockSize
        switch type {
        case .f32:
            dst.update(from: src.assumingMemoryBound(to: Float.self), count: count)
        case .f16:
            Float16.load(src.assumingMemoryBound(to: Float16.self), dst, count: count)
        case .bf16:
            for i in 0..<count {
                dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            }
        case .q4_0:
            for b in 0..<blocks {
                let p = src + b * 18, y = dst + b * 32
                let d = f16(p, 0)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 2 + j, as: UInt8.self)
                    y[j] = Float(Int(q & 0xF) - 8) * d
                    y[j + 16] = Float(Int(q >> 4) - 8) * d
                }
            }
        case .q4_1:
            for b in 0..<blocks {
                let p = src + b * 20, y = dst + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 4 + j, as: UInt8.self)
                    y[j] = Float(q & 0xF) * d + m
                    y[j + 16] = Float(q >> 4) * d + m
                }
            }
        case .q5_0:
            for b in 0..<blocks {
                let p = src + b * 22, y = dst + b * 32
                let d = f16(p, 0)
                let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 6 + j, as: UInt8.self)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    y[j] = Float(Int((q & 0xF) | h0) - 16) * d
                    y[j + 16] = Float(Int((q >> 4) | h1) - 16) * d
                }
            }
        case .q5_1:
            for b in 0..<blocks {
                let p = src + b * 24, y = dst + b * 32
                let d = f16(p, 0), m = f16(p, 2)
                let qh = p.loadUnaligned(fromByteOffset: 4, as: UInt32.self).littleEndian
                for j in 0..<16 {
                    let q = p.load(fromByteOffset: 8 + j, as: UInt8.self)
                    let h0 = UInt8(truncatingIfNeeded: ((qh >> UInt32(j)) << 4) & 0x10)
                    let h1 = UInt8(truncatingIfNeeded: (qh >> UInt32(j + 12)) & 0x10)
                    y[j] = Float((q & 0xF) | h0) * d + m
                    y[j + 16] = Float((q >> 4) | h1) * d + m
                }
            }
        case .q8_0:
            for b in 0..<blocks {
                let p = src + b * 34, y = dst + b * 32
                let d = f16(p, 0)
                for j in 0..<32 { y[j] = Float(p.load(fromByteOffset: 2 + j, as: Int8.self)) * d }
            }
        case .q4_K:
            for b in 0..<blocks {
                let p = src + b * 144, y0 = dst + b * 256
                let d = f16(p, 0), dmin = f16(p, 2)
                let scales = p + 4
                var q = p + 16, y = y0, s = 0
                for _ in 0..<4 {
                    let (sc1, m1) = scaleMinK4(s, scales), (sc2, m2) = scaleMinK4(s + 1, scales)
                    let d1 = d * Float(sc1), mm1 = dmin * Float(m1), d2 = d * Float(sc2), mm2 = dmin * Float(m2)
                    for l in 0..<32 { y[l] = d1 * Float(q.load(fromByteOffset: l, as: UInt8.self) & 0xF) - mm1 }
                    for l in 0..<32 { y[32 + l] = d2 * Float(q.load(fromByteOffset: l, as: UInt8.self) >> 4) - mm2 }
                    q += 32; y += 64; s += 2
                }
            }
        case .q5_K:
            for b in 0..<blocks {
                let p = src + b * 176, y0 = dst + b * 256
                let d = f16(p, 0), dmin = f16(p, 2)
                let scales = p + 4, qh = p + 16
                var ql = p + 48, y = y0, s = 0
                var u1: UInt8 = 1, u2: UInt8 = 2
                for _ in 0..<4 {
                    let (sc1, m1) = scaleMinK4(s, scales), (sc2, m2) = scaleMinK4(s + 1, scales)
                    let d1 = d * Float(sc1), mm1 = dmin * Float(m1), d2 = d * Float(sc2), mm2 = dmin * Float(m2)
                    for l in 0..<32 {
                        let h = qh.load(fromByteOffset: l, as: UInt8.self)
                        let q = ql.load(fromByteOffset: l, as: UInt8.self)
                        y[l] = d1 * Float(Int(q & 0xF) + (h & u1 != 0 ? 16 : 0)) - mm1
                        y[32 + l] = d2 * Float(Int(q >> 4) + (h & u2 != 0 ? 16 : 0)) - mm2
                    }
                    ql += 32; y += 64; s += 2; u1 <<= 2; u2 <<= 2
                }
            }
        case .q6_K:
            for b in 0..<blocks {
                let p = src + b * 210, y0 = dst + b * 256
                let d = f16(p, 208)
                var ql = p, qh = p + 128, sc = p + 192, y = y0
                for _ in 0..<2 {
                    for l in 0..<32 {
                        let i = l / 16
                        let lo0 = ql.load(fromByteOffset: l, as: UInt8.self), lo1 = ql.load(fromByteOffset: l + 32, as: UInt8.self)
                        let h = qh.load(fromByteOffset: l, as: UInt8.self)
                        let q1 = Int((lo0 & 0xF) | ((h & 3) << 4)) - 32
                        let q2 = Int((lo1 & 0xF) | (((h >> 2) & 3) << 4)) - 32
                        let q3 = Int((lo0 >> 4) | (((h >> 4) & 3) << 4)) - 32
                        let q4 = Int((lo1 >> 4) | (((h >> 6) & 3) << 4)) - 32
                        y[l] = d * Float(sc.load(fromByteOffset: i, as: Int8.self)) * Float(q1)
                        y[l + 32] = d * Float(sc.load(fromByteOffset: i + 2, as: Int8.self)) * Float(q2)
                        y[l + 64] = d * Float(sc.load(fromByteOffset: i + 4, as: Int8.self)) * Float(q3)
                        y[l + 96] = d * Float(sc.load(fromByteOffset: i + 6, as: Int8.self)) * Float(q4)
                    }
                    y += 128; ql += 64; qh += 32; sc += 8
                }
            }
        default:
            preconditionFailure("unsupported type \(type) reached the dequantizer; GGUFFile refuses it at open")
        }
    }

    /// The 6-bit scale and min of sub-block `j` of a Q4_K/Q5_K super-block (ggml's get_scale_min_k4).
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafeRawPointer) -> (UInt8, UInt8) {
        @inline(__always) func b(_ i: Int) -> UInt8 { q.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0xF) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }
}
