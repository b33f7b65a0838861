#if canImport(Glibc)
import Glibc
#endif
import VLMRuntime

/// The 2-D rotary positions of the Qwen vision towers: a head of width hd turns its first and
/// second halves together (rotate_half) by hd/2 angles, the first hd/4 from the patch's row
/// and the next hd/4 from its column, each times 1/theta^(2i/(hd/2)) (transformers'
/// `compute_axial_rope_parameters`, computed in float32).
struct QwenVisionRoPE {
    /// tokens x hd/2 cosines and sines, in processing order.
    let cos: [Float], sin: [Float]
    let half: Int

    init(config c: QwenVisionConfig, order: [Int], gridCols: Int) {
        let hd = c.headDim, quarter = hd / 4, half = hd / 2
        self.half = half
        let inv = (0..<quarter).map { i in 1 / powf(c.ropeTheta, Float(2 * i) / Float(half)) }
        var cos = [Float](repeating: 0, count: order.count * half), sin = cos
        for (t, patch) in order.enumerated() {
            let row = Float(patch / gridCols), col = Float(patch % gridCols)
            for i in 0..<quarter {
                let a = row * inv[i], b = col * inv[i]
                cos[t * half + i] = cosf(a); sin[t * half + i] = sinf(a)
                cos[t * half + quarter + i] = cosf(b); sin[t * half + quarter + i] = sinf(b)
            }
        }
        self.cos = cos; self.sin = sin
    }

    /// Rotates every head of `tokens` rows of `x` (row stride `stride`, `heads` heads of 2*half).
    func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, stride: Int, heads: Int) {
        cos.withUnsafeBufferPointer { cb in sin.withUnsafeBufferPointer { sb in
            Parallel.forRange(tokens, minChunk: 64) { t0, t1 in
                for t in t0..<t1 {
                    let c = cb.baseAddress! + t * half, s = sb.baseAddress! + t * half
                    for h in 0..<heads {
                        let v = x + t * stride + h * 2 * half
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * c[i] - b * s[i]
                            v[i + half] = b * c[i] + a * s[i]
                        }
                    }
                }
            }
        }}
    }
}

/// Working buffers for one frame-group, allocated once per call.
struct QwenVisionScratch {
    var normed: [Float], qkv: [Float], attention: [Float], projected: [Float], gate: [Float], up: [Float]
    init(tokens t: Int, config c: QwenVisionConfig) {
        normed = [Float](repeating: 0, count: t * c.hiddenSize)
        qkv = [Float](repeating: 0, count: t * 3 * c.hiddenSize)
        attention = [Float](repeating: 0, count: t * c.hiddenSize)
        projected = [Float](repeating: 0, count: t * c.hiddenSize)
        gate = [Float](repeating: 0, count: t * c.intermediateSize)
        up = c.variant == .qwen2_5 ? [Float](repeating: 0, count: t * c.intermediateSize) : []
    }
}

extension QwenVisionTower {
    /// One block in place on x: x += proj(attn(norm1(x))); x += mlp(norm2(x)). Returns the
    /// attention/keys taps asked of it (processing order).
    func runBlock(_ index: Int, _ x: inout [Float], tokens t: Int, segments: [Range<Int>], rope: QwenVisionRoPE,
                  scratch s: inout QwenVisionScratch, taps: [EncoderTap]) -> [(EncoderTap, [Float])] {
        let c = config, d = c.hiddenSize, w = weights.blocks[index]
        var results: [(EncoderTap, [Float])] = []
        x.withUnsafeMutableBufferPointer { xb in
        s.normed.withUnsafeMutableBufferPointer { normedB in s.qkv.withUnsafeMutableBufferPointer { qkvB in
        s.attention.withUnsafeMutableBufferPointer { attnB in s.projected.withUnsafeMutableBufferPointer { projB in
            let x = xb.baseAddress!, normed = normedB.baseAddress!, qkv = qkvB.baseAddress!
            let attn = attnB.baseAddress!, proj = projB.baseAddress!
            norm(x, normed, rows: t, w.norm1)
            w.qkv.apply(normed, rows: t, into: qkv)
            if taps.contains(where: { $0.kind == .keys }) { results.append((EncoderTap(layer: index, kind: .keys), headMeanKeys(qkv, tokens: t))) }
            rope.apply(qkv, tokens: t, stride: 3 * d, heads: c.headCount)
            rope.apply(qkv + d, tokens: t, stride: 3 * d, heads: c.headCount)
            results += attention(qkv: qkv, tokens: t, segments: segments, into: attn, taps: taps.filter { $0.kind != .keys && $0.kind != .hidden })
            w.proj.apply(attn, rows: t, into: proj)
            for i in 0..<(t * d) { x[i] += proj[i] }
            norm(x, normed, rows: t, w.norm2)
        }}}}}
        mlp(w, tokens: t, scratch: &s)
        s.projected.withUnsafeBufferPointer { p in x.withUnsafeMutableBufferPointer { xb in for i in 0..<(t * d) { xb[i] += p[i] } } }
        return results
    }

    /// Qwen2.5-VL: down(act(gate(h)) * up(h)); Qwen3-VL: fc2(act(fc1(h))); into scratch.projected.
    private func mlp(_ w: QwenVisionWeights.Block, tokens t: Int, scratch s: inout QwenVisionScratch) {
        let act = config.activation
        s.normed.withUnsafeBufferPointer { hb in s.gate.withUnsafeMutableBufferPointer { gb in
        s.projected.withUnsafeMutableBufferPointer { pb in
            w.fc1.apply(hb.baseAddress!, rows: t, into: gb.baseAddress!, activation: act)
            if let up = w.up {
                s.up.withUnsafeMutableBufferPointer { ub in
                    up.apply(hb.baseAddress!, rows: t, into: ub.baseAddress!)
                    for i in 0..<gb.count { gb[i] *= ub[i] }
                }
            }
            w.fc2.apply(gb.baseAddress!, rows: t, into: pb.baseAddress!)
        }}}
    }

    private func norm(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, _ n: QwenVisionWeights.Norm) {
        let d = config.hiddenSize, eps = config.normEps
        n.weight.withUnsafeBufferPointer { wb in n.bias.withOptionalPointer { bb in
            Parallel.forRange(rows, minChunk: 64) { r0, r1 in
                if n.bias == nil {
                    Norms.rmsNorm(x + r0 * d, y + r0 * d, rows: r1 - r0, width: d, weight: wb.baseAddress!, eps: eps)
                } else {
                    Norms.layerNorm(x + r0 * d, y + r0 * d, rows: r1 - r0, width: d, weight: wb.baseAddress!, bias: bb, eps: eps)
                }
            }
        }}
    }

    /// Keys averaged over heads (before the rotary turn: what the patch is, not where), t x hd.
    private func headMeanKeys(_ qkv: UnsafePointer<Float>, tokens t: Int) -> [Float] {
        let c = config, d = c.hiddenSize, hd = c.headDim
        var keys = [Float](repeating: 0, count: t * hd)
        for r in 0..<t { for h in 0..<c.headCount { for j in 0..<hd { keys[r * hd + j] += qkv[r * 3 * d + d + h * hd + j] } } }
        let inv = 1 / Float(c.headCount)
        for j in keys.indices { keys[j] *= inv }
        return keys
    }

    /// Multi-head attention within each segment from stacked Q|K|V rows into `out`. Attention
    /// taps average the heads' maps into a t x t matrix (zero between different segments).
    private func attention(qkv: UnsafeMutablePointer<Float>, tokens t: Int, segments: [Range<Int>],
                           into out: UnsafeMutablePointer<Float>, taps: [EncoderTap]) -> [(EncoderTap, [Float])] {
        let c = config, d = c.hiddenSize, heads = c.headCount, hd = c.headDim, stride = 3 * d
        let scale = 1 / Float(hd).squareRoot()
        let jobs = segments.flatMap { seg in (0..<heads).map { (seg, $0) } }
        // One accumulator per worker and tap: heads of a segment may run on different workers.
        let workers = max(1, min(Parallel.threadCount, jobs.count))
        var sums = taps.isEmpty ? [] : [Float](repeating: 0, count: workers * taps.count * t * t)
        let longest = segments.map(\.count).max() ?? 0
        sums.withUnsafeMutableBufferPointer { sumsB in
            let sums = sumsB.baseAddress
            Parallel.forRange(workers) { w0, w1 in
                let scores = UnsafeMutablePointer<Float>.allocate(capacity: longest * longest)
                defer { scores.deallocate() }
                for worker in w0..<w1 {
                    var j = worker
                    while j < jobs.count {
                        let (seg, h) = jobs[j]
                        let n = seg.count, base = seg.lowerBound
                        let q = qkv + base * stride + h * hd, k = q + d, v = q + 2 * d
                        BLAS.gemmABt(m: n, n: n, k: hd, a: q, lda: stride, b: k, ldb: stride, c: scores, ldc: n, alpha: scale)
                        for (ti, tap) in taps.enumerated() where tap.kind == .attentionLogits {
                            accumulate(scores, n: n, base: base, into: sums! + (worker * taps.count + ti) * t * t, t: t)
                        }
                        for r in 0..<n { Softmax.inPlace(scores + r * n, count: n) }
                        for (ti, tap) in taps.enumerated() where tap.kind == .attentionProbabilities {
                            accumulate(scores, n: n, base: base, into: sums! + (worker * taps.count + ti) * t * t, t: t)
                        }
                        BLAS.gemm(m: n, n: hd, k: n, a: scores, lda: n, b: v, ldb: stride, c: out + base * d + h * hd, ldc: d)
                        j += workers
                    }
                }
            }
        }
        return taps.enumerated().map { ti, tap in
            var mean = [Float](repeating: 0, count: t * t)
            let inv = 1 / Float(heads)
            for worker in 0..<workers {
                let o = (worker * taps.count + ti) * t * t
                for i in 0..<(t * t) { mean[i] += sums[o + i] * inv }
            }
            return (tap, mean)
        }
    }

    private func accumulate(_ scores: UnsafePointer<Float>, n: Int, base: Int, into sum: UnsafeMutablePointer<Float>, t: Int) {
        for r in 0..<n { for col in 0..<n { sum[(base + r) * t + base + col] += scores[r * n + col] } }
    }
}
