/// Causal grouped-query attention (an `AttentionMask`) over uncompressed cached keys and values.
///
/// One query row (decode) uses SIMD dot products straight from the cache; many query rows
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

    /// Few query rows: one job per (row, kv head); each cached key and value row is widened
    /// once and used by every query head of its group.
    static func decode<E: DenseCacheElement>(
        shape: KVCacheShape, keys: UnsafePointer<E>, values: UnsafePointer<E>, cached: Int,
        queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
        output: UnsafeMutablePointer<Float>
    ) {
        let hd = shape.headDim, kvw = shape.kvWidth, qw = shape.queryWidth
        let group = shape.heads / shape.kvHeads
        Parallel.forRange(tokens * shape.kvHeads) { start, end in
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: group * cached)
            let row = UnsafeMutablePointer<Float>.allocate(capacity: hd)
            defer { scores.deallocate(); row.deallocate() }
            for job in start..<end {
                let t = job / shape.kvHeads, kvh = job % shape.kvHeads
                let (lo, hi) = mask.visibleRange(cached: cached, tokens: tokens, t: t)
                let n = hi - lo
                let q = queries + t * qw + kvh * group * hd
                for j in lo..<hi {
                    E.load(keys + j * kvw + kvh * hd, row, count: hd)
                    for g in 0..<group { scores[g * n + j - lo] = dot(q + g * hd, row, hd) * scale }
                }
                for g in 0..<group { Softmax.inPlace(scores + g * n, count: n) }
                let out = output + t * qw + kvh * group * hd
                out.initialize(repeating: 0, count: group * hd)
                for j in lo..<hi {
                    E.load(values + j * kvw + kvh * hd, row, count: hd)
                    for g in 0..<group { axpy(scores[g * n + j - lo], row, out + g * hd, hd) }
                }
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
        var acc0 = SIMD8<Float>(repeating: 0), acc1 = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 16 <= n {
            acc0.addProduct(UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self),
                            UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self))
            acc1.addProduct(UnsafeRawPointer(a + i + 8).loadUnaligned(as: SIMD8<Float>.self),
                            UnsafeRawPointer(b + i + 8).loadUnaligned(as: SIMD8<Float>.self))
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    @inline(__always)
    static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        let a = SIMD8<Float>(repeating: alpha)
        var i = 0
        while i + 8 <= n {
            var yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self)
            yv.addProduct(a, UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self))
            UnsafeMutableRawPointer(y + i).storeBytes(of: yv, as: SIMD8<Float>.self)
            i += 8
        }
        while i < n { y[i] += alpha * x[i]; i += 1 }
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
