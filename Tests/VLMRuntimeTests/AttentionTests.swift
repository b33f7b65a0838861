import XCTest
@testable import VLMRuntime

/// The dense caches' attention against a naive reference written out loop by loop: causal
/// mask, grouped-query heads, sliding window, prefill (BLAS path) and decode (SIMD path).
final class AttentionTests: XCTestCase {
    func randomArray(_ n: Int, _ rng: inout SeededGenerator) -> [Float] {
        (0..<n).map { _ in rng.nextUnit() * 2 - 1 }
    }

    /// out[t, h] = softmax over visible j of (q[t,h] . k[j,kvh] * scale) applied to v. Visible,
    /// as transformers 5.23 builds Gemma 3's masks: (causal or query and key in the same
    /// bidirectional run) and inside the window.
    func naive(shape s: KVCacheShape, k: [Float], v: [Float], q: [Float], tokens: Int, cached: Int,
               scale: Float, window: Int?, runs: [Range<Int>] = []) -> [Float] {
        var out = [Float](repeating: 0, count: tokens * s.queryWidth)
        let group = s.heads / s.kvHeads
        let first = cached - tokens
        func run(_ position: Int) -> Int? { runs.firstIndex { $0.contains(position - first) } }
        for t in 0..<tokens {
            let pos = first + t
            let visible = (0..<cached).filter { j in
                (j <= pos || (run(pos) != nil && run(pos) == run(j))) && (window.map { pos - j < $0 } ?? true)
            }
            for h in 0..<s.heads {
                let kvh = h / group
                var scores: [Double] = []
                for j in visible {
                    var d: Double = 0
                    for i in 0..<s.headDim { d += Double(q[t * s.queryWidth + h * s.headDim + i]) * Double(k[j * s.kvWidth + kvh * s.headDim + i]) }
                    scores.append(d * Double(scale))
                }
                let m = scores.max()!
                let e = scores.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for i in 0..<s.headDim {
                    var acc: Double = 0
                    for (n, j) in visible.enumerated() { acc += e[n] / z * Double(v[j * s.kvWidth + kvh * s.headDim + i]) }
                    out[t * s.queryWidth + h * s.headDim + i] = Float(acc)
                }
            }
        }
        return out
    }

    func check(type: KVCacheType, tokens: Int, prior: Int, window: Int?, runs: [Range<Int>] = [], tolerance: Float) throws {
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
        cache.attend(layer: 0, queries: q, tokens: tokens, scale: 0.3, mask: AttentionMask(window: window, bidirectional: runs), output: &out)
        let expected = naive(shape: shape, k: k, v: v, q: q, tokens: tokens, cached: total, scale: 0.3, window: window, runs: runs)
        let maxDiff = zip(out, expected).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(maxDiff, tolerance, "\(type) tokens=\(tokens) prior=\(prior) window=\(String(describing: window)) runs=\(runs)")
    }

    /// Gemma 3's image tokens: runs of the call's rows that see each other both ways, with and
    /// without a sliding window shorter than a run (which still cuts its earlier keys), on the blocked
    /// prefill path (runs across its 128-row chunks), the few-row path, and every cache type
    /// (the packed ones serve a call's own rows exact, so they match the reference as closely).
    func testBidirectionalRunsMatchNaive() throws {
        for type in KVCacheType.allCases {
            let tol: Float = type == .f32 ? 1e-4 : 3e-3
            let prior = type == .f32 || type == .f16 ? 5 : 0   // rows of earlier calls are stored packed
            try check(type: type, tokens: 300, prior: prior, window: nil, runs: [3..<259, 270..<290], tolerance: tol)
            try check(type: type, tokens: 300, prior: 0, window: 64, runs: [3..<259], tolerance: tol)
            try check(type: type, tokens: 4, prior: prior == 0 ? 0 : 7, window: nil, runs: [1..<3], tolerance: tol)
        }
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
