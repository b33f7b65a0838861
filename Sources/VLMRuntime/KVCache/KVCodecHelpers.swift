#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// The number formats the packed KV codecs share (Float16 rounding, 2-bit code tables, min/max
// 2-bit parameters, 2-bit rows): small inline helpers, apart from the attention that reads them.

/// Float16 with a chosen rounding direction, so that a stored scale or minimum is never on the
/// wrong side of the values it must cover (this keeps every format's error bound exactly "half a
/// stored step", with no extra term for the rounding of the scale).
enum Half {
    static let largest: Float = 65504

    @inline(__always) static func nearest(_ x: Float) -> Float16 {
        Float16(Swift.min(Swift.max(x, -largest), largest))
    }
    /// The largest Float16 <= x (finite).
    @inline(__always) static func down(_ x: Float) -> Float16 {
        var h = nearest(x)
        if Float(h) > x, h.nextDown.isFinite { h = h.nextDown }
        return h
    }
    /// The smallest Float16 >= x (finite).
    @inline(__always) static func up(_ x: Float) -> Float16 {
        var h = nearest(x)
        if Float(h) < x, h.nextUp.isFinite { h = h.nextUp }
        return h
    }
    /// Rounded to the Float16 of equal or larger magnitude.
    @inline(__always) static func awayFromZero(_ x: Float) -> Float16 { x >= 0 ? up(x) : down(x) }

    @inline(__always) static func load(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(p.loadUnaligned(fromByteOffset: offset, as: Float16.self))
    }
    @inline(__always) static func store(_ h: Float16, _ p: UnsafeMutableRawPointer, _ offset: Int) {
        p.storeBytes(of: h, toByteOffset: offset, as: Float16.self)
    }
}

/// Tables that turn one packed byte into floats, so the decoders run a SIMD multiply-add per
/// byte instead of a shift, mask and conversion per value.
enum CodeTables {
    /// Byte -> its four 2-bit codes (bits 0-1 first) as floats.
    nonisolated(unsafe) static let twoBit: UnsafePointer<SIMD4<Float>> = {
        let p = UnsafeMutablePointer<SIMD4<Float>>.allocate(capacity: 256)
        for b in 0..<256 { p[b] = SIMD4(Float(b & 3), Float(b >> 2 & 3), Float(b >> 4 & 3), Float(b >> 6 & 3)) }
        return UnsafePointer(p)
    }()
    /// Byte -> its eight bits (bit 0 first) as +1 (set) or -1 (clear).
    nonisolated(unsafe) static let signs: UnsafePointer<SIMD8<Float>> = {
        let p = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 256)
        for b in 0..<256 {
            var v = SIMD8<Float>()
            for i in 0..<8 { v[i] = (b >> i) & 1 != 0 ? 1 : -1 }
            p[b] = v
        }
        return UnsafePointer(p)
    }()
    /// Byte < 243 -> its five base-3 digits minus 1 (-1, 0, +1; least significant first), then
    /// three zeros.
    nonisolated(unsafe) static let trits: UnsafePointer<SIMD8<Float>> = {
        let p = UnsafeMutablePointer<SIMD8<Float>>.allocate(capacity: 256)
        for b in 0..<256 {
            var v = SIMD8<Float>(), x = b
            for i in 0..<5 { v[i] = b < 243 ? Float(x % 3) - 1 : 0; x /= 3 }
            p[b] = v
        }
        return UnsafePointer(p)
    }()

    @inline(__always) static func load4(_ p: UnsafePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD4<Float>.self)
    }
    @inline(__always) static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD4<Float>.self)
    }
    @inline(__always) static func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// y[i] = mn[i] + sc[i] * code_i for `n` 2-bit codes packed 4 per byte.
    @inline(__always)
    static func decodeTwoBit(_ codes: UnsafePointer<UInt8>, min mn: UnsafePointer<Float>, scale sc: UnsafePointer<Float>,
                             count n: Int, into y: UnsafeMutablePointer<Float>) {
        let table = twoBit
        var i = 0
        while i + 4 <= n {
            store(load4(mn + i) + load4(sc + i) * table[Int(codes[i >> 2])], y + i)
            i += 4
        }
        while i < n { y[i] = mn[i] + sc[i] * Float((codes[i >> 2] >> UInt8(2 * (i & 3))) & 3); i += 1 }
    }
}

/// 2-bit asymmetric min-max quantization (KIVI): codes 0...3, x̂ = min + scale * code. The
/// stored min is rounded down and the stored scale up, so [min, min + 3 * scale] covers every
/// value and |x - x̂| <= scale / 2.
enum MinMax2 {
    @inline(__always) static func params(min lo: Float, max hi: Float) -> (min: Float16, scale: Float16) {
        let mn = Half.down(lo)
        var sc = Half.up((hi - Float(mn)) / 3)
        while Float(mn) + 3 * Float(sc) < hi, sc.nextUp.isFinite { sc = sc.nextUp }
        return (mn, sc)
    }
    /// The smallest Float scale with min + 3 * scale >= hi (before any rounding of the scale to
    /// a stored format, which must round up from it).
    @inline(__always) static func coveringScale(min mn: Float, max hi: Float) -> Float {
        var sc = (hi - mn) / 3
        while mn + 3 * sc < hi { sc = sc.nextUp }
        return sc
    }
    @inline(__always) static func code(_ x: Float, min: Float, inverseScale: Float) -> UInt8 {
        let q = ((x - min) * inverseScale).rounded()
        return q > 0 ? (q < 3 ? UInt8(q) : 3) : 0
    }
    @inline(__always) static func inverse(_ scale: Float16) -> Float { scale == 0 ? 0 : 1 / Float(scale) }
}

/// One token row quantized to 2 bits per value, asymmetric min-max per group of 32 channels
/// (KIVI's per-token value format; VidKV's protected value rows). Layout: per channel group a
/// Float16 min then a Float16 scale, then the codes, 4 per byte (channel c in byte c/4, bits
/// 2*(c%4)). A last group shorter than 32 holds the tail channels.
enum TwoBitRows {
    static func groups(_ n: Int) -> Int { (n + 31) / 32 }
    static func bytes(count n: Int) -> Int { 4 * groups(n) + (n + 3) / 4 }

    static func encode(_ x: UnsafePointer<Float>, count n: Int, to p: UnsafeMutableRawPointer) {
        let ng = groups(n)
        let codes = (p + 4 * ng).assumingMemoryBound(to: UInt8.self)
        codes.update(repeating: 0, count: (n + 3) / 4)
        for g in 0..<ng {
            let a = g * 32, b = min(n, a + 32)
            var lo = x[a], hi = x[a]
            for i in a..<b { lo = min(lo, x[i]); hi = max(hi, x[i]) }
            let (mn, sc) = MinMax2.params(min: lo, max: hi)
            Half.store(mn, p, 4 * g)
            Half.store(sc, p, 4 * g + 2)
            let mnF = Float(mn), inv = MinMax2.inverse(sc)
            for i in a..<b {
                codes[i >> 2] |= MinMax2.code(x[i], min: mnF, inverseScale: inv) << UInt8(2 * (i & 3))
            }
        }
    }

    static func decode(_ p: UnsafeRawPointer, count n: Int, to y: UnsafeMutablePointer<Float>) {
        let ng = groups(n)
        let codes = (p + 4 * ng).assumingMemoryBound(to: UInt8.self)
        let table = CodeTables.twoBit
        for g in 0..<ng {
            let a = g * 32, b = min(n, a + 32)
            let mn = Half.load(p, 4 * g), sc = Half.load(p, 4 * g + 2)
            let mnV = SIMD4<Float>(repeating: mn), scV = SIMD4<Float>(repeating: sc)
            var i = a
            while i + 4 <= b {   // a is a multiple of 4: whole code bytes
                CodeTables.store(mnV + scV * table[Int(codes[i >> 2])], y + i)
                i += 4
            }
            while i < b { y[i] = mn + sc * Float((codes[i >> 2] >> UInt8(2 * (i & 3))) & 3); i += 1 }
        }
    }
}
