import XCTest
@testable import VLMRuntime

/// The dense caches' attention against a naive reference written out loop by loop: causal
/// mask, grouped-query heads, sliding window, prefill (BLAS path) and decode (SIMD path).
final class AttentionTests: XCTestCase {
    func randomArray(_ n: Int, _ rng: inout SeededGenerator) -> [Float] {
        (0..<n).map { _ in rng.nextUnit() * 2 - 1 }
    }

    /// out[t, h] = softmax over visible j of (q[t,h] . k[j,kvh] * scale) applied to v.
    func naive(shape s: KVCacheShape, k: [Float], v: [Float], q: [Float], tokens: Int, cached: Int,
               scale: Float, window: Int?) -> [Float] {
        var out = [Float](repeating: 0, count: tokens * s.queryWidth)
        let group = s.heads / s.kvHeads
        for t in 0..<tokens {
            let pos = cached - tokens + t
            let lo = window.map { max(0, pos - $0 + 1) } ?? 0
            for h in 0..<s.heads {
                let kvh = h / group
                var scores: [Double] = []
                for j in lo...pos {
                    var d: Double = 0
                    for i in 0..<s.headDim { d += Double(q[t * s.queryWidth + h * s.headDim + i]) * Double(k[j * s.kvWidth + kvh * s.headDim + i]) }
                    scores.append(d * Double(scale))
                }
                let m = scores.max()!
                let e = scores.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for i in 0..<s.headDim {
                    var acc: Double = 0
                    for (n, j) in (lo...pos).enumerated() { acc += e[n] / z * Double(v[j * s.kvWidth + kvh * s.headDim + i]) }
                    out[t * s.queryWidth + h * s.headDim + i] = Float(acc)
                }
            }
        }
        return out
    }

    func check(type: KVCacheType, tokens: Int, prior: Int, window: Int?, tolerance: Float) throws {
        var rng = SeededGenerator(seed: UInt64(tokens * 31 + prior))
        let shape = KVCacheShape(layers: 1, heads: 6, kvHeads: 2, headDim: 24, capacity: 512)
        let total = prior + tokens
        let k = randomArray(total * shape.kvWidth, &rng), v = randomArray(total * shape.kvWidth, &rng)
        let q = randomArray(tokens * shape.queryWidth, &rng)
        let cache = type.makeCache(shape: shape)
        if prior > 0 { try cache.append(layer: 0, keys: k, values: v, tokens: prior) }
        try Array(k[(prior * shape.kvWidth)...]).withUnsafeBufferPointer { kb in
            try Array(v[(prior * shape.kvWidth)...]).withUnsafeBufferPointer { vb in
                try cache.append(layer: 0, keys: kb.baseAddress!, values: vb.baseAddress!, tokens: tokens)
            }
        }
        var out = [Float](repeating: .nan, count: tokens * shape.queryWidth)
        cache.attend(layer: 0, queries: q, tokens: tokens, scale: 0.3, window: window, output: &out)
        let expected = naive(shape: shape, k: k, v: v, q: q, tokens: tokens, cached: total, scale: 0.3, window: window)
        let maxDiff = zip(out, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(maxDiff, tolerance, "\(type) tokens=\(tokens) prior=\(prior) window=\(String(describing: window))")
    }

    func testDecodeMatchesNaive() throws {
        try check(type: .f32, tokens: 1, prior: 40, window: nil, tolerance: 1e-5)
        try check(type: .f32, tokens: 1, prior: 40, window: 7, tolerance: 1e-5)
    }

    func testPrefillMatchesNaive() throws {
        try check(type: .f32, tokens: 150, prior: 0, window: nil, tolerance: 1e-4)
        try check(type: .f32, tokens: 150, prior: 20, window: nil, tolerance: 1e-4)
        try check(type: .f32, tokens: 140, prior: 9, window: 33, tolerance: 1e-4)
    }

    func testHalfPrecisionCacheIsClose() throws {
        try check(type: .f16, tokens: 1, prior: 40, window: nil, tolerance: 2e-3)
        try check(type: .f16, tokens: 70, prior: 3, window: 16, tolerance: 2e-3)
    }

    func testCapacityIsEnforcedAndTruncateRewinds() throws {
        let shape = KVCacheShape(layers: 2, heads: 2, kvHeads: 1, headDim: 4, capacity: 3)
        let cache = KVCacheType.f16.makeCache(shape: shape)
        let row = [Float](repeating: 1, count: 4 * 4)
        try cache.append(layer: 0, keys: row, values: row, tokens: 3)
        XCTAssertEqual(cache.count(layer: 0), 3)
        XCTAssertEqual(cache.storedBytes, 2 * 3 * 4 * 2)
        XCTAssertThrowsError(try cache.append(layer: 0, keys: row, values: row, tokens: 1))
        cache.truncate(to: 1)
        XCTAssertEqual(cache.count(layer: 0), 1)
    }
}
