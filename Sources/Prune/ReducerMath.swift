import VLMRuntime

/// Small shared pieces of the reducers: ranking with deterministic ties, row normalisation,
/// cosine similarity through sgemm, attention-derived scores.
enum ReducerMath {
    /// Indices of the `k` largest scores, ties broken by the lower index (as a stable sort by
    /// descending score does), returned in rank order.
    static func topK(_ scores: [Float], _ k: Int, among candidates: [Int]? = nil) -> [Int] {
        let pool = candidates ?? Array(scores.indices)
        let sorted = pool.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return Array(sorted.prefix(max(0, k)))
    }

    /// Rows scaled to unit L2 norm (zero rows stay zero).
    static func normalizedRows(_ m: TokenMatrix) -> [Float] {
        var out = m.values
        for r in 0..<m.count {
            var s: Float = 0
            for j in 0..<m.width { let v = out[r * m.width + j]; s += v * v }
            let inv = s > 0 ? 1 / s.squareRoot() : 0
            for j in 0..<m.width { out[r * m.width + j] *= inv }
        }
        return out
    }

    /// a [n x d] times b [m x d]^T -> n x m.
    static func products(_ a: [Float], rows n: Int, _ b: [Float], rows m: Int, width d: Int) -> [Float] {
        var c = [Float](repeating: 0, count: n * m)
        guard n > 0, m > 0, d > 0 else { return c }
        a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in c.withUnsafeMutableBufferPointer { cb in
            BLAS.gemmABt(m: n, n: m, k: d, a: ab.baseAddress!, lda: d, b: bb.baseAddress!, ldb: d, c: cb.baseAddress!, ldc: m)
        }}}
        return c
    }

    /// Attention each patch receives: the class token's row when the map has one (and asks for
    /// it), else the mean over all query rows; patch columns only.
    static func patchScores(_ map: AttentionMap, classRow: Bool) -> [Float] {
        let first = map.hasClassToken ? 1 : 0
        let patches = map.size - first
        if classRow && map.hasClassToken {
            return Array(map.values[first..<map.size])
        }
        var s = [Float](repeating: 0, count: patches)
        for r in 0..<map.rows {
            let row = r * map.size + first
            for j in 0..<patches { s[j] += map.values[row + j] }
        }
        let inv = 1 / Float(map.rows)
        return s.map { $0 * inv }
    }

    /// torch's adaptive pooling bounds: cell i of `out` covers [floor(i*n/out), ceil((i+1)*n/out)).
    static func bounds(_ i: Int, _ out: Int, _ n: Int) -> (Int, Int) {
        (i * n / out, ((i + 1) * n + out - 1) / out)
    }
}
