#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A layer of a packed cache, as the packed attention kernel reads it: `PackedAttention.tile`
/// positions at a time. Tiles start at multiples of the tile size, which is also the group size
/// of the grouped formats (KIVI, VidKV), so a tile is either one quantized group or rows of the
/// full-precision residual buffer, never a mix (`FreshRowsOverlay` alone mixes, in channel order).
protocol KVTileSource {
    /// Writes the keys of positions `start..<start+count` of `kvHead` as `count` rows of
    /// `headDim` floats into `dst`. Returns true when the rows are in a basis of the tile's own
    /// (VidKV's transformed channels); the kernel then maps its query vectors with `mapQueries`
    /// before the dot products. `queryRows` (how many query vectors will read the tile) lets a
    /// source choose the cheaper side to transform; with more query vectors than keys a source
    /// returns channel order (false).
    func loadKeys(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>,
                  queryRows: Int) -> Bool
    /// Maps `rows` query vectors (`headDim` floats each, contiguous) into the basis that
    /// `loadKeys` used for the tile at `start`.
    func mapQueries(kvHead: Int, start: Int, _ queries: UnsafePointer<Float>, rows: Int,
                    into dst: UnsafeMutablePointer<Float>)
    /// Writes the values of positions `start..<start+count` of `kvHead` (channel order).
    func loadValues(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>)
}

/// Causal grouped-query attention over a packed cache, reading it one 32-position tile at a
/// time: the tile's keys and values are dequantized into two small scratch buffers, every query
/// vector of the job scores against them, and a running max / running sum (online softmax, the
/// same softmax as `DenseAttention` computed in one pass) folds the tile into the output. No
/// dequantized copy of the cache exists at any time; per job the scratch is two tiles plus the
/// job's query rows and accumulators.
///
/// Jobs are (kv head, chunk of up to `queryChunk` query tokens); every query head of the kv
/// head's group shares the dequantized tile.
enum PackedAttention {
    static let tile = 32
    static let queryChunk = 64

    static func run<S: KVTileSource>(
        _ source: S, shape: KVCacheShape, cached: Int, queries: UnsafePointer<Float>, tokens: Int,
        scale: Float, window: Int?, output: UnsafeMutablePointer<Float>
    ) {
        guard tokens > 0 else { return }
        let hd = shape.headDim, qw = shape.queryWidth
        let group = shape.heads / shape.kvHeads
        let chunk = min(queryChunk, tokens)
        let chunks = (tokens + chunk - 1) / chunk
        let maxRows = chunk * group
        Parallel.forRange(shape.kvHeads * chunks) { startJob, endJob in
            let q = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * hd)
            let qm = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * hd)
            let acc = UnsafeMutablePointer<Float>.allocate(capacity: maxRows * hd)
            let k = UnsafeMutablePointer<Float>.allocate(capacity: tile * hd)
            let v = UnsafeMutablePointer<Float>.allocate(capacity: tile * hd)
            let m = UnsafeMutablePointer<Float>.allocate(capacity: maxRows)
            let l = UnsafeMutablePointer<Float>.allocate(capacity: maxRows)
            let s = UnsafeMutablePointer<Float>.allocate(capacity: tile)
            defer {
                q.deallocate(); qm.deallocate(); acc.deallocate(); k.deallocate(); v.deallocate()
                m.deallocate(); l.deallocate(); s.deallocate()
            }
            for job in startJob..<endJob {
                // Causal: later query chunks read more keys. Jobs take their chunks in the order
                // 0, last, 1, last-1, ... so that the contiguous ranges of jobs the threads get
                // carry about equal work.
                let i = job % chunks
                let kvh = job / chunks, t0 = (i % 2 == 0 ? i / 2 : chunks - 1 - i / 2) * chunk
                let nt = min(chunk, tokens - t0), rows = nt * group
                // Query row r = ti * group + g: token t0 + ti, head kvh * group + g.
                for ti in 0..<nt {
                    (q + ti * group * hd).update(from: queries + (t0 + ti) * qw + kvh * group * hd, count: group * hd)
                }
                m.update(repeating: -.infinity, count: rows)
                l.update(repeating: 0, count: rows)
                acc.update(repeating: 0, count: rows * hd)
                let loFirst = DenseAttention.visibleRange(cached: cached, tokens: tokens, t: t0, window: window).0
                let hiLast = DenseAttention.visibleRange(cached: cached, tokens: tokens, t: t0 + nt - 1, window: window).1
                var start = loFirst / tile * tile
                while start < hiLast {
                    let n = min(tile, cached - start)
                    let mapped = source.loadKeys(kvHead: kvh, start: start, count: n, into: k, queryRows: rows)
                    var qs = UnsafePointer(q)
                    if mapped {
                        source.mapQueries(kvHead: kvh, start: start, q, rows: rows, into: qm)
                        qs = UnsafePointer(qm)
                    }
                    source.loadValues(kvHead: kvh, start: start, count: n, into: v)
                    for r in 0..<rows {
                        let (lo, hi) = DenseAttention.visibleRange(cached: cached, tokens: tokens, t: t0 + r / group, window: window)
                        let a = max(lo, start), b = min(hi, start + n)
                        if a >= b { continue }
                        let qr = qs + r * hd
                        var mx = -Float.infinity
                        for j in a..<b {
                            let x = DenseAttention.dot(qr, k + (j - start) * hd, hd) * scale
                            s[j - a] = x
                            if x > mx { mx = x }
                        }
                        let accR = acc + r * hd
                        if mx > m[r] {
                            // Rescale what earlier tiles summed to the new running max.
                            let c = expf(m[r] - mx)
                            l[r] *= c
                            scaleInPlace(accR, c, hd)
                            m[r] = mx
                        }
                        let mr = m[r]
                        var sum: Float = 0
                        for j in a..<b {
                            let p = expf(s[j - a] - mr)
                            sum += p
                            DenseAttention.axpy(p, v + (j - start) * hd, accR, hd)
                        }
                        l[r] += sum
                    }
                    start += tile
                }
                for r in 0..<rows {
                    let ti = r / group, g = r % group
                    let out = output + (t0 + ti) * qw + (kvh * group + g) * hd
                    let inv: Float = l[r] > 0 ? 1 / l[r] : 0
                    let a = acc + r * hd
                    for i in 0..<hd { out[i] = a[i] * inv }
                }
            }
        }
    }

    @inline(__always)
    static func scaleInPlace(_ x: UnsafeMutablePointer<Float>, _ c: Float, _ n: Int) {
        let cv = SIMD8<Float>(repeating: c)
        var i = 0
        while i + 8 <= n {
            let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) * cv
            UnsafeMutableRawPointer(x + i).storeBytes(of: xv, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { x[i] *= c; i += 1 }
    }
}

// MARK: - Small codecs shared by the packed formats

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
