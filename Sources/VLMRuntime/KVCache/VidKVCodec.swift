#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// VidKV's group codec (the storage format behind VidKVCache): per 32-token group, keys at
/// 2 bits per channel group and values split into 2-bit and 1-bit (DFT-rotated) channels.
struct VidKVCodec: GroupCodec {
    static let groupTokens = 32
    let headDim: Int
    /// Channels quantized at 2 bits (the largest ranges) and through the 1-bit transform.
    let hiCount: Int, loCount: Int
    /// The orthonormal real DFT basis of length `loCount`, row-major: y = basis · x.
    let basis: [Float]

    init(headDim: Int) {
        self.headDim = headDim
        hiCount = headDim / 2
        loCount = headDim - headDim / 2
        basis = Self.realDFTBasis(loCount)
    }

    /// Rows: DC, (Re, Im) of frequencies 1..<(m+1)/2, Nyquist if m is even; orthonormal.
    static func realDFTBasis(_ m: Int) -> [Float] {
        var b = [Float](repeating: 0, count: m * m)
        guard m > 0 else { return b }
        let s0 = 1 / Double(m).squareRoot(), s1 = (2 / Double(m)).squareRoot()
        for n in 0..<m { b[n] = Float(s0) }
        var row = 1
        var k = 1
        while 2 * k < m {
            for n in 0..<m {
                let angle = 2 * Double.pi * Double(k * n % m) / Double(m)
                b[row * m + n] = Float(s1 * cos(angle))
                b[(row + 1) * m + n] = Float(-s1 * sin(angle))
            }
            row += 2
            k += 1
        }
        if m % 2 == 0 && m >= 2 {
            for n in 0..<m { b[row * m + n] = Float(n % 2 == 0 ? s0 : -s0) }
        }
        return b
    }

    // Key block layout.
    var maskBytes: Int { (headDim + 7) / 8 }
    var hiMinOffset: Int { maskBytes }
    var hiScaleOffset: Int { hiMinOffset + 2 * hiCount }
    var hiCodeOffset: Int { hiScaleOffset + LogScales.bytes(count: hiCount) }
    var hiRowBytes: Int { (hiCount + 3) / 4 }
    var loAlphaOffset: Int { hiCodeOffset + Self.groupTokens * hiRowBytes }
    var loSignOffset: Int { loAlphaOffset + LogScales.bytes(count: loCount) }
    var loRowBytes: Int { (loCount + 7) / 8 }
    var keyBlockBytes: Int { loSignOffset + Self.groupTokens * loRowBytes }

    // Value block layout.
    var tritRowBytes: Int { (headDim + 4) / 5 }
    var tritOffset: Int { LogScales.bytes(count: headDim) }
    var valueBlockBytes: Int { tritOffset + Self.groupTokens * tritRowBytes }
    var protectedRowBytes: Int { TwoBitRows.bytes(count: headDim) }

    /// The stored scale of 2-bit channel `i` (the i-th set bit of the mask), as decoding reads it.
    func hiScale(_ b: UnsafeRawPointer, _ i: Int) -> Float { LogScales.value(b + hiScaleOffset, i) }

    /// y = basis · x for one vector of `loCount` values.
    func transform(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        basis.withUnsafeBufferPointer { bp in
            for k in 0..<loCount { y[k] = DenseAttention.dot(bp.baseAddress! + k * loCount, x, loCount) }
        }
    }
    /// x = basisᵀ · y.
    func inverse(_ y: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>) {
        x.update(repeating: 0, count: loCount)
        basis.withUnsafeBufferPointer { bp in
            for k in 0..<loCount { DenseAttention.axpy(y[k], bp.baseAddress! + k * loCount, x, loCount) }
        }
    }

    /// The block's 2-bit channels then its 1-bit channels, each ascending, into `idx[0..<headDim]`.
    func channels(_ b: UnsafeRawPointer, into idx: UnsafeMutablePointer<Int32>) {
        let mask = b.assumingMemoryBound(to: UInt8.self)
        var hi = 0, lo = hiCount
        for c in 0..<headDim {
            if (mask[c >> 3] >> UInt8(c & 7)) & 1 != 0 { idx[hi] = Int32(c); hi += 1 } else { idx[lo] = Int32(c); lo += 1 }
        }
    }

    func encodeKeys(_ x: UnsafePointer<Float>, stride: Int, to b: UnsafeMutableRawPointer) {
        let n = Self.groupTokens, hd = headDim
        // Rank channels by range over the group.
        var range = [Float](repeating: 0, count: hd)
        for c in 0..<hd {
            var lo = x[c], hi = x[c]
            for t in 0..<n { let v = x[t * stride + c]; lo = min(lo, v); hi = max(hi, v) }
            range[c] = hi - lo
        }
        let order = (0..<hd).sorted { range[$0] > range[$1] || (range[$0] == range[$1] && $0 < $1) }
        let hiIdx = order[0..<hiCount].sorted(), loIdx = order[hiCount...].sorted()
        let bytes = b.assumingMemoryBound(to: UInt8.self)
        bytes.update(repeating: 0, count: keyBlockBytes)
        for c in hiIdx { bytes[c >> 3] |= 1 << UInt8(c & 7) }

        // 2-bit channels: the mins first, then every scale the channels need, coded together.
        let hiCodes = bytes + hiCodeOffset
        var mins = [Float](repeating: 0, count: hiCount), scales = [Float](repeating: 0, count: hiCount)
        for (i, c) in hiIdx.enumerated() {
            var lo = x[c], hi = x[c]
            for t in 0..<n { let v = x[t * stride + c]; lo = min(lo, v); hi = max(hi, v) }
            let mn = Half.down(lo)
            Half.store(mn, b, hiMinOffset + 2 * i)
            mins[i] = Float(mn)
            scales[i] = MinMax2.coveringScale(min: mins[i], max: hi)
        }
        scales.withUnsafeMutableBufferPointer { LogScales.encode($0.baseAddress!, count: hiCount, roundUp: true, to: b + hiScaleOffset) }
        for (i, c) in hiIdx.enumerated() {
            let inv = scales[i] == 0 ? 0 : 1 / scales[i], shift = UInt8(2 * (i & 3))
            for t in 0..<n {
                hiCodes[t * hiRowBytes + (i >> 2)] |= MinMax2.code(x[t * stride + c], min: mins[i], inverseScale: inv) << shift
            }
        }

        // 1-bit channels, in the DFT domain.
        let m = loCount
        guard m > 0 else { return }
        var xs = [Float](repeating: 0, count: m), ys = [Float](repeating: 0, count: n * m)
        xs.withUnsafeMutableBufferPointer { xb in
            ys.withUnsafeMutableBufferPointer { yb in
                for t in 0..<n {
                    for (j, c) in loIdx.enumerated() { xb[j] = x[t * stride + c] }
                    transform(xb.baseAddress!, into: yb.baseAddress! + t * m)
                }
            }
        }
        let signs = bytes + loSignOffset
        var alphas = [Float](repeating: 0, count: m)
        for k in 0..<m {
            var sum: Float = 0
            for t in 0..<n { sum += abs(ys[t * m + k]) }
            alphas[k] = sum / Float(n)
            for t in 0..<n where ys[t * m + k] >= 0 { signs[t * loRowBytes + (k >> 3)] |= 1 << UInt8(k & 7) }
        }
        alphas.withUnsafeMutableBufferPointer { LogScales.encode($0.baseAddress!, count: m, roundUp: false, to: b + loAlphaOffset) }
    }

    /// Keys in the transformed basis (row: the 2-bit channels' values, then the 1-bit channels'
    /// quantized DFT coefficients), or in channel order.
    private func decodeKeys(_ b: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>, transformed: Bool) {
        let hd = headDim, m2 = hiCount, m1 = loCount
        let bytes = b.assumingMemoryBound(to: UInt8.self)
        let hiCodes = bytes + hiCodeOffset, signs = bytes + loSignOffset
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: hd) { ib in
            let idx = ib.baseAddress!
            if !transformed { channels(b, into: idx) }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * m2 + 2 * m1 + max(m1, m2)) { fb in
                let mn = fb.baseAddress!, sc = mn + m2, al = sc + m2, y = al + m1, x = y + m1
                for i in 0..<m2 { mn[i] = Half.load(b, hiMinOffset + 2 * i) }
                LogScales.decode(b + hiScaleOffset, count: m2, into: sc)
                LogScales.decode(b + loAlphaOffset, count: m1, into: al)
                let table = CodeTables.signs
                for t in 0..<n {
                    let row = dst + t * hd, code = hiCodes + t * hiRowBytes, sign = signs + t * loRowBytes
                    // Transformed: [2-bit channels | coefficients] in place; else via x, y.
                    let hiValues = transformed ? row : x
                    let coefficients = transformed ? row + m2 : y
                    CodeTables.decodeTwoBit(code, min: mn, scale: sc, count: m2, into: hiValues)
                    var k = 0
                    while k + 8 <= m1 {
                        CodeTables.store(CodeTables.load8(al + k) * table[Int(sign[k >> 3])], coefficients + k)
                        k += 8
                    }
                    while k < m1 { coefficients[k] = (sign[k >> 3] >> UInt8(k & 7)) & 1 != 0 ? al[k] : -al[k]; k += 1 }
                    if !transformed {
                        for i in 0..<m2 { row[Int(idx[i])] = x[i] }
                        inverse(y, into: x)
                        for j in 0..<m1 { row[Int(idx[m2 + j])] = x[j] }
                    }
                }
            }
        }
    }

    func decodeKeys(_ b: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>, queryRows: Int) -> Bool {
        // Mapping the queries costs queryRows·m², inverting the keys n·m².
        let transformed = queryRows <= n
        decodeKeys(b, count: n, into: dst, transformed: transformed)
        return transformed
    }

    func decodeKeysToChannels(_ b: UnsafeRawPointer, count n: Int, into dst: UnsafeMutablePointer<Float>) {
        decodeKeys(b, count: n, into: dst, transformed: false)
    }

    func mapQueries(_ b: UnsafeRawPointer, _ queries: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>) {
        let hd = headDim, m2 = hiCount, m1 = loCount
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: hd) { ib in
            let idx = ib.baseAddress!
            channels(b, into: idx)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: m1) { xb in
                let x = xb.baseAddress!
                for r in 0..<rows {
                    let q = queries + r * hd, out = dst + r * hd
                    for i in 0..<m2 { out[i] = q[Int(idx[i])] }
                    for j in 0..<m1 { x[j] = q[Int(idx[m2 + j])] }
                    transform(x, into: out + m2)
                }
            }
        }
    }

    func encodeValues(_ x: UnsafePointer<Float>, stride: Int, protectedMask: UInt32, to b: UnsafeMutableRawPointer,
                      protectedRows: UnsafeMutableRawPointer?, protectedStride: Int) {
        let n = Self.groupTokens, hd = headDim
        var trits = [Int8](repeating: 0, count: n * hd)
        var alphas = [Float](repeating: 0, count: hd)
        for c in 0..<hd {
            var sum: Float = 0, u = 0
            for t in 0..<n where (protectedMask >> UInt32(t)) & 1 == 0 { sum += abs(x[t * stride + c]); u += 1 }
            let tau: Float = u > 0 ? 0.5 * sum / Float(u) : 0
            var kept: Float = 0, nonzero = 0
            for t in 0..<n where (protectedMask >> UInt32(t)) & 1 == 0 {
                let v = x[t * stride + c]
                if v > tau { trits[t * hd + c] = 1 } else if v < -tau { trits[t * hd + c] = -1 } else { continue }
                kept += abs(v); nonzero += 1
            }
            alphas[c] = nonzero > 0 ? kept / Float(nonzero) : 0
        }
        alphas.withUnsafeMutableBufferPointer { LogScales.encode($0.baseAddress!, count: hd, roundUp: false, to: b) }
        let codes = (b + tritOffset).assumingMemoryBound(to: UInt8.self)
        for t in 0..<n {
            for j in 0..<tritRowBytes {
                var byte = 0, weight = 1
                for i in 0..<min(5, hd - 5 * j) {
                    byte += (Int(trits[t * hd + 5 * j + i]) + 1) * weight
                    weight *= 3
                }
                codes[t * tritRowBytes + j] = UInt8(byte)
            }
        }
        if let protectedRows {
            var k = 0
            for t in 0..<n where (protectedMask >> UInt32(t)) & 1 != 0 {
                TwoBitRows.encode(x + t * stride, count: hd, to: protectedRows + k * protectedStride)
                k += 1
            }
        }
    }

    func decodeValues(_ b: UnsafeRawPointer, count n: Int, protectedMask: UInt32, protectedRows: UnsafeRawPointer?,
                      protectedStride: Int, into dst: UnsafeMutablePointer<Float>) {
        let hd = headDim, rb = tritRowBytes
        let codes = (b + tritOffset).assumingMemoryBound(to: UInt8.self)
        let table = CodeTables.trits
        withUnsafeTemporaryAllocation(of: Float.self, capacity: hd + 8) { ab in
            let alpha = ab.baseAddress!
            LogScales.decode(b, count: hd, into: alpha)
            for c in hd..<(hd + 8) { alpha[c] = 0 }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { lastBuffer in
                let last = lastBuffer.baseAddress!
                for t in 0..<n {
                    let row = dst + t * hd
                    if (protectedMask >> UInt32(t)) & 1 != 0, let protectedRows {
                        let k = (protectedMask & ((1 << UInt32(t)) - 1)).nonzeroBitCount
                        TwoBitRows.decode(protectedRows + k * protectedStride, count: hd, to: row)
                        continue
                    }
                    let code = codes + t * rb
                    // 8 floats per byte, 5 of them real: each store overlaps the next byte's,
                    // which rewrites them; the last bytes go through `last` to stay in the row.
                    var c = 0, j = 0
                    while c + 8 <= hd {
                        CodeTables.store(CodeTables.load8(alpha + c) * table[Int(code[j])], row + c)
                        c += 5; j += 1
                    }
                    while c < hd {
                        CodeTables.store(CodeTables.load8(alpha + c) * table[Int(code[j])], last)
                        for i in 0..<min(5, hd - c) { row[c + i] = last[i] }
                        c += 5; j += 1
                    }
                }
            }
        }
    }
}

/// Positive per-channel numbers of one block (VidKV's 2-bit scales, 1-bit alphas and ternary
/// alphas) as 8-bit logarithmic codes under the block's largest: a Float16 maximum M, then one
/// byte per number, code c meaning M * 2^(-c/16) (c < 255) and 255 meaning zero.
///
/// Why logarithmic: a block's channels differ in magnitude by orders (key outlier channels, the
/// DC coefficient of the transform), and a linear 8-bit code would leave the small ones a few
/// levels; in 1/16-octave steps every number keeps the same relative precision (nearest code:
/// within 2^(1/32) - 1 = 2.2%) over 16 octaves. It halves the metadata's share of the cache
/// against Float16 (see `VidKVCache`).
enum LogScales {
    static let table: [Float] = (0..<256).map { $0 == 255 ? 0 : Float(exp2(-Double($0) / 16)) }

    static func bytes(count n: Int) -> Int { 2 + n }

    /// Codes `s[0..<n]` (all >= 0) into `p` and replaces each with the value decoding gives.
    /// `roundUp`: each decoded value is >= the given one (min-max codes need it for their error
    /// bound); otherwise the nearest code in the log domain.
    static func encode(_ s: UnsafeMutablePointer<Float>, count n: Int, roundUp: Bool, to p: UnsafeMutableRawPointer) {
        var top: Float = 0
        for i in 0..<n { top = max(top, s[i]) }
        let maximum = Half.up(top)
        Half.store(maximum, p, 0)
        let m = Float(maximum)
        let codes = (p + 2).assumingMemoryBound(to: UInt8.self)
        for i in 0..<n {
            var c = 255
            if s[i] > 0 && m > 0 {
                let octaves = 16 * log2(m / s[i])
                if roundUp {
                    c = min(254, max(0, Int(octaves.rounded(.down))))
                    while c > 0 && m * table[c] < s[i] { c -= 1 }
                } else {
                    c = min(255, max(0, Int(octaves.rounded())))
                }
            }
            codes[i] = UInt8(c)
            s[i] = m * table[c]
        }
    }

    static func decode(_ p: UnsafeRawPointer, count n: Int, into s: UnsafeMutablePointer<Float>) {
        let m = Half.load(p, 0)
        let codes = (p + 2).assumingMemoryBound(to: UInt8.self)
        table.withUnsafeBufferPointer { t in
            for i in 0..<n { s[i] = m * t[Int(codes[i])] }
        }
    }

    static func value(_ p: UnsafeRawPointer, _ i: Int) -> Float {
        Half.load(p, 0) * table[Int(p.load(fromByteOffset: 2 + i, as: UInt8.self))]
    }
}
