import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// Causal grouped-query attention (an `AttentionMask`) over uncompressed cached keys and values.
///
/// One query row (decode) runs `CKernels`' attention job straight from the cache; many query rows
/// (prefill) widen one kv head's keys and values to Float once and use two sgemms per chunk of
/// queries, so that attention over a long prompt runs at BLAS speed and its score matrix stays
/// small (chunks of `queryChunk` rows).
public enum DenseAttention {
    static let queryChunk = 128

    public static func run<E: DenseCacheElement>(
        shape: KVCacheShape, keys: UnsafePointer<E>, values: UnsafePointer<E>, cached: Int,
        queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
        output: UnsafeMutablePointer<Float>
    ) {
        if tokens <= 4 {
            decode(shape: shape, keys: keys, values: values, cached: cached, queries: queries,
                   tokens: tokens, scale: scale, mask: mask, output: output)
        } else {
            prefill(shape: shape, keys: keys, values: values, cached: cached, queries: queries,
                    tokens: tokens, scale: scale, mask: mask, output: output)
        }
    }

    /// Few query rows: one job per (row, kv head, slice of the visible positions), each one
    /// `vlm_attend` call (`CKernels`: half-precision rows widened in registers, the vector
    /// exponential). A long context is sliced so that every thread has work even when there are
    /// fewer kv heads than threads (SmolLM2 has 3 for 2 threads): each slice returns its
    /// unnormalised output with its max score and exponential sum, and the slices are merged as
    /// flash-decoding does, softmax(s) v = Σ_p e^(m_p - M) o_p / Σ_p e^(m_p - M) l_p.
    static func decode<E: DenseCacheElement>(
        shape: KVCacheShape, keys: UnsafePointer<E>, values: UnsafePointer<E>, cached: Int,
        queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
        output: UnsafeMutablePointer<Float>
    ) {
        let hd = shape.headDim, kvw = shape.kvWidth, qw = shape.queryWidth
        let group = shape.heads / shape.kvHeads
        precondition(hd <= 512, "head dimension \(hd) is over the decode kernel's 512")
        let isF16: Int32 = E.self == Float16.self ? 1 : 0
        let pairs = tokens * shape.kvHeads
        let threads = Parallel.threadCount
        let slices = cached >= 256 && pairs < 2 * threads ? max(1, min((2 * threads + pairs - 1) / pairs, cached / 128)) : 1
        let partialOut = slices > 1 ? UnsafeMutablePointer<Float>.allocate(capacity: pairs * slices * group * hd) : nil
        let partialMax = UnsafeMutablePointer<Float>.allocate(capacity: pairs * slices * group)
        let partialSum = UnsafeMutablePointer<Float>.allocate(capacity: pairs * slices * group)
        defer { partialOut?.deallocate(); partialMax.deallocate(); partialSum.deallocate() }
        Parallel.forRange(pairs * slices) { start, end in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * (cached / slices + 1))
            defer { scores.deallocate() }
            for job in start..<end {
                let pair = job / slices, slice = job % slices
                let t = pair / shape.kvHeads, kvh = pair % shape.kvHeads
                let (lo, hi) = mask.visibleRange(cached: cached, tokens: tokens, t: t)
                let sliceLo = lo + (hi - lo) * slice / slices, sliceHi = lo + (hi - lo) * (slice + 1) / slices
                let out = partialOut.map { $0 + job * group * hd } ?? output + t * qw + kvh * group * hd
                vlm_attend(queries + t * qw + kvh * group * hd, group, hd, keys + kvh * hd, values + kvh * hd, isF16, kvw,
                           sliceLo, sliceHi, scale, scores, out, partialMax + job * group, partialSum + job * group,
                           partialOut == nil ? 1 : 0)
            }
        }
        guard let partialOut else { return }
        for pair in 0..<pairs {
            let t = pair / shape.kvHeads, kvh = pair % shape.kvHeads
            for g in 0..<group {
                let out = output + t * qw + (kvh * group + g) * hd
                var top = -Float.infinity
                for p in 0..<slices where partialSum[(pair * slices + p) * group + g] > 0 {
                    top = max(top, partialMax[(pair * slices + p) * group + g])
                }
                out.initialize(repeating: 0, count: hd)
                var total: Float = 0
                for p in 0..<slices {
                    let i = (pair * slices + p) * group + g
                    guard partialSum[i] > 0 else { continue }
                    let w = expf(partialMax[i] - top)
                    total += w * partialSum[i]
                    vlm_axpy_f32(w, partialOut + i * hd, out, hd)
                }
                if total > 0 { for i in 0..<hd { out[i] /= total } }
            }
        }
    }

    /// Many query rows: every kv head's keys and values are widened to Float once, then the
    /// (head, chunk of queries) jobs run on the worker threads, each with its own score buffer
    /// and two single-threaded sgemms.
    static func prefill<E: DenseCacheElement>(
        shape: KVCacheShape, keys: UnsafePointer<E>, values: UnsafePointer<E>, cached: Int,
        queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
        output: UnsafeMutablePointer<Float>
    ) {
        let hd = shape.headDim, kvw = shape.kvWidth, qw = shape.queryWidth
        let group = shape.heads / shape.kvHeads
        // Widened copies, [kvHead][position][headDim].
        let kf = UnsafeMutablePointer<Float>.allocate(capacity: shape.kvHeads * cached * hd)
        let vf = UnsafeMutablePointer<Float>.allocate(capacity: shape.kvHeads * cached * hd)
        defer { kf.deallocate(); vf.deallocate() }
        Parallel.forRange(cached, minChunk: 64) { s, e in
            for j in s..<e {
                for kvh in 0..<shape.kvHeads {
                    E.load(keys + j * kvw + kvh * hd, kf + (kvh * cached + j) * hd, count: hd)
                    E.load(values + j * kvw + kvh * hd, vf + (kvh * cached + j) * hd, count: hd)
                }
            }
        }
        let chunk = min(queryChunk, tokens)
        let chunksPerHead = (tokens + chunk - 1) / chunk
        Parallel.forRange(shape.heads * chunksPerHead) { startJob, endJob in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: chunk * cached)
            defer { scores.deallocate() }
            for job in startJob..<endJob {
                let h = job / chunksPerHead, t0 = (job % chunksPerHead) * chunk
                let kvh = h / group
                let n = min(chunk, tokens - t0)
                // Keys outside every query's view in this chunk are skipped.
                let (loFirst, hiLast) = mask.blockRange(cached: cached, tokens: tokens, rows: t0..<(t0 + n))
                let span = hiLast - loFirst
                let kBase = kf + (kvh * cached + loFirst) * hd, vBase = vf + (kvh * cached + loFirst) * hd
                BLAS.gemmABt(m: n, n: span, k: hd, a: queries + t0 * qw + h * hd, lda: qw,
                             b: kBase, ldb: hd, c: scores, ldc: span, alpha: scale)
                for r in 0..<n {
                    let (lo, hi) = mask.visibleRange(cached: cached, tokens: tokens, t: t0 + r)
                    let row = scores + r * span
                    let a = lo - loFirst, b = hi - loFirst
                    for j in 0..<a { row[j] = 0 }
                    Softmax.inPlace(row + a, count: b - a)
                    for j in b..<span { row[j] = 0 }
                }
                BLAS.gemm(m: n, n: hd, k: span, a: scores, lda: span, b: vBase, ldb: hd,
                          c: output + t0 * qw + h * hd, ldc: qw)
            }
        }
    }

    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        vlm_dot_f32(a, b, n)
    }

    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        vlm_axpy_f32(alpha, x, y, n)
    }
}

extension DenseAttention {
    /// One query row against a subset of the cached positions (ascending), the dynamic KV
    /// pruning of DyCoke: keys and values outside `positions` are not read at all. When
    /// `averaged` is given, it receives the head-averaged attention probabilities over
    /// `positions` (what DyCoke ranks visual tokens by).
    static func decodeSubset<E: DenseCacheElement>(
        shape: KVCacheShape, keys: UnsafePointer<E>, values: UnsafePointer<E>, positions: UnsafeBufferPointer<Int32>,
        query: UnsafePointer<Float>, scale: Float, output: UnsafeMutablePointer<Float>, averaged: UnsafeMutablePointer<Float>?
    ) {
        let hd = shape.headDim, kvw = shape.kvWidth
        let group = shape.heads / shape.kvHeads, n = positions.count
        let perHead = UnsafeMutablePointer<Float>.allocate(capacity: shape.heads * max(n, 1))
        defer { perHead.deallocate() }
        Parallel.forRange(shape.kvHeads) { start, end in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: hd)
            defer { row.deallocate() }
            for kvh in start..<end {
                let scores = perHead + kvh * group * n
                let q = query + kvh * group * hd
                for (i, p) in positions.enumerated() {
                    E.load(keys + Int(p) * kvw + kvh * hd, row, count: hd)
                    for g in 0..<group { scores[g * n + i] = dot(q + g * hd, row, hd) * scale }
                }
                for g in 0..<group { Softmax.inPlace(scores + g * n, count: n) }
                let out = output + kvh * group * hd
                out.initialize(repeating: 0, count: group * hd)
                for (i, p) in positions.enumerated() {
                    E.load(values + Int(p) * kvw + kvh * hd, row, count: hd)
                    for g in 0..<group { axpy(scores[g * n + i], row, out + g * hd, hd) }
                }
            }
        }
        if let averaged {
            averaged.initialize(repeating: 0, count: n)
            for h in 0..<shape.heads { for i in 0..<n { averaged[i] += perHead[h * n + i] } }
            for i in 0..<n { averaged[i] /= Float(shape.heads) }
        }
    }
}

extension DenseKVCache {
    /// One query row attending to `positions` only (see `DenseAttention.decodeSubset`).
    func attend(layer: Int, query: UnsafePointer<Float>, positions: UnsafeBufferPointer<Int32>, scale: Float,
                output: UnsafeMutablePointer<Float>, averaged: UnsafeMutablePointer<Float>?) {
        withStorage(layer: layer) { k, v in
            if Element.self == Float16.self {
                DenseAttention.decodeSubset(shape: shape, keys: k.assumingMemoryBound(to: Float16.self), values: v.assumingMemoryBound(to: Float16.self),
                                            positions: positions, query: query, scale: scale, output: output, averaged: averaged)
            } else {
                DenseAttention.decodeSubset(shape: shape, keys: k.assumingMemoryBound(to: Float.self), values: v.assumingMemoryBound(to: Float.self),
                                            positions: positions, query: query, scale: scale, output: output, averaged: averaged)
            }
        }
    }
}
