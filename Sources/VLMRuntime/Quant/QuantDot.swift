/// Dot products of stored weight rows with one activation vector x: the decode hot path.
///
/// For the 32-value block types the kernel works on the packed block directly: 16 bytes of
/// nibbles become two SIMD16<Float> lanes, multiplied into x and scaled by the block's d.
/// The offset term of Q4_1/Q5_1 (m * Σx over the block) uses per-block sums of x computed once
/// per mat-vec, not once per row. K-quants and 16-bit floats dequantize one row into a small
/// per-thread buffer (it stays in L1) and take a SIMD dot.
struct QuantDot {
    let type: GGMLType
    let cols: Int
    let x: UnsafePointer<Float>
    /// Σx over each 32-value block (only for types with a per-block offset).
    let blockSums: UnsafeMutablePointer<Float>?

    init(type: GGMLType, cols: Int, x: UnsafePointer<Float>) {
        self.type = type; self.cols = cols; self.x = x
        if type == .q4_1 || type == .q5_1 {
            let n = cols / 32
            let sums = UnsafeMutablePointer<Float>.allocate(capacity: n)
            for b in 0..<n {
                var s = SIMD8<Float>(repeating: 0)
                for k in 0..<4 { s += UnsafeRawPointer(x + b * 32 + 8 * k).loadUnaligned(as: SIMD8<Float>.self) }
                sums[b] = s.sum()
            }
            blockSums = sums
        } else {
            blockSums = nil
        }
    }

    func release() { blockSums?.deallocate() }

    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ o: Int) -> Float {
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
    }
    @inline(__always) func x16(_ i: Int) -> SIMD16<Float> {
        UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
    }

    func rows(_ range: Range<Int>, data: UnsafeRawPointer, rowBytes: Int, y: UnsafeMutablePointer<Float>) {
        let nb = cols / 32
        switch type {
        case .q4_0:
            for r in range {
                var p = data + r * rowBytes
                var acc = SIMD16<Float>(repeating: 0)
                for b in 0..<nb {
                    let q = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
                    let lo = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & 0xF) &- 8)
                    let hi = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4) &- 8)
                    var blk = lo * x16(b * 32)
                    blk.addProduct(hi, x16(b * 32 + 16))
                    acc.addProduct(SIMD16(repeating: Self.f16(p, 0)), blk)
                    p += 18
                }
                y[r] = acc.sum()
            }
        case .q4_1:
            let sums = blockSums!
            for r in range {
                var p = data + r * rowBytes
                var acc = SIMD16<Float>(repeating: 0)
                var offset: Float = 0
                for b in 0..<nb {
                    let q = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
                    let lo = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q & 0xF))
                    let hi = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q &>> 4))
                    var blk = lo * x16(b * 32)
                    blk.addProduct(hi, x16(b * 32 + 16))
                    acc.addProduct(SIMD16(repeating: Self.f16(p, 0)), blk)
                    offset += Self.f16(p, 2) * sums[b]
                    p += 20
                }
                y[r] = acc.sum() + offset
            }
        case .q8_0:
            for r in range {
                var p = data + r * rowBytes
                var acc = SIMD16<Float>(repeating: 0)
                for b in 0..<nb {
                    let q0 = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
                    let q1 = p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
                    var blk = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q0)) * x16(b * 32)
                    blk.addProduct(SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: q1)), x16(b * 32 + 16))
                    acc.addProduct(SIMD16(repeating: Self.f16(p, 0)), blk)
                    p += 34
                }
                y[r] = acc.sum()
            }
        case .q5_0:
            for r in range {
                var p = data + r * rowBytes
                var acc = SIMD16<Float>(repeating: 0)
                for b in 0..<nb {
                    let qh = p.loadUnaligned(fromByteOffset: 2, as: UInt32.self).littleEndian
                    let q = p.loadUnaligned(fromByteOffset: 6, as: SIMD16<UInt8>.self)
                    let (h0, h1) = Self.highBits(qh)
                    let lo = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (q & 0xF) | h0) &- 16)
                    let hi = SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: (q &>> 4) | h1) &- 16)
                    var blk = lo * x16(b * 32)
                    blk.addProduct(hi, x16(b * 32 + 16))
                    acc.addProduct(SIMD16(repeating: Self.f16(p, 0)), blk)
                    p += 22
                }
                y[r] = acc.sum()
            }
        default:
            // K-quants, Q5_1, F16, BF16, F32: dequantize a row into L1-resident scratch, then dot.
            let row = UnsafeMutablePointer<Float>.allocate(capacity: cols)
            defer { row.deallocate() }
            for r in range {
                Dequantize.row(type, data + r * rowBytes, row, count: cols)
                var acc = SIMD16<Float>(repeating: 0)
                var i = 0
                while i + 16 <= cols {
                    acc.addProduct(UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self), x16(i))
                    i += 16
                }
                var s = acc.sum()
                while i < cols { s += row[i] * x[i]; i += 1 }
                y[r] = s
            }
        }
    }

    /// Q5_0's fifth bits, spread to bit 4 of each of the 16 low and 16 high values.
    @inline(__always)
    static func highBits(_ qh: UInt32) -> (SIMD16<UInt8>, SIMD16<UInt8>) {
        let shifts = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        let v = SIMD16<UInt32>(repeating: qh)
        let lo = ((v &>> shifts) & 1) &<< 4
        let hi = ((v &>> (shifts &+ 16)) & 1) &<< 4
        return (SIMD16<UInt8>(truncatingIfNeeded: lo), SIMD16<UInt8>(truncatingIfNeeded: hi))
    }
}
