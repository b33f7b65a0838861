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

    /// Long (about 90 lines) on purpose: one hot loop (tile load, scores, online softmax,
    /// value accumulation) kept together so its buffers stay in registers and cache.
    static func run<S: KVTileSource>(
        _ source: S, shape: KVCacheShape, cached: Int, queries: UnsafePointer<Float>, tokens: Int,
        scale: Float, mask: AttentionMask, output: UnsafeMutablePointer<Float>
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
                let (loFirst, hiLast) = mask.blockRange(cached: cached, tokens: tokens, rows: t0..<(t0 + nt))
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
                        let (lo, hi) = mask.visibleRange(cached: cached, tokens: tokens, t: t0 + r / group)
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
