import XCTest
@testable import VLMRuntime

/// DyCoke's dynamic KV pruning: layers >= L attend exactly to the keep set (text positions plus
/// the visual tokens layer L-1's head-averaged attention ranks highest), checked against a
/// dense cache holding only those rows.
final class KVCacheDyCokeTests: XCTestCase {
    let shape = KVCacheShape(layers: 3, heads: 4, kvHeads: 2, headDim: 8, capacity: 128)

    func rows(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<(n * shape.kvWidth)).map { _ in rng.nextUnit() * 2 - 1 }
    }

    func testKeepSetAttentionEqualsAttentionOverTheKeptRows() throws {
        let n = 40, visual = 5..<35
        let keys = rows(n, seed: 1), values = rows(n, seed: 2)
        var rng = SeededGenerator(seed: 3)
        let query = (0..<shape.queryWidth).map { _ in rng.nextUnit() * 2 - 1 }
        let base = DenseKVCache<Float>(shape: shape)
        for l in 0..<shape.layers { try base.append(layer: l, keys: keys, values: values, tokens: n) }
        let pruned = try XCTUnwrap(DyCokeKVCache(base: base, visual: visual, layer: 2, pruneRatio: 0.8, threshold: 0.9))
        var out = [Float](repeating: 0, count: shape.queryWidth), full = out
        // Layer L-1 = 1: full attention (and the ranking).
        pruned.attend(layer: 1, queries: query, tokens: 1, scale: 0.3, mask: .causal, output: &out)
        base.attend(layer: 1, queries: query, tokens: 1, scale: 0.3, mask: .causal, output: &full)
        for i in 0..<out.count { XCTAssertEqual(out[i], full[i], accuracy: 1e-5) }
        // The ranking, recomputed here: head-averaged softmax probabilities over all positions.
        var averaged = [Float](repeating: 0, count: n)
        for h in 0..<shape.heads {
            let kvh = h / (shape.heads / shape.kvHeads)
            var s = (0..<n).map { j in (0..<shape.headDim).reduce(Float(0)) { $0 + query[h * shape.headDim + $1] * keys[j * shape.kvWidth + kvh * shape.headDim + $1] } * 0.3 }
            let m = s.max()!; s = s.map { exp($0 - m) }; let z = s.reduce(0, +)
            for j in 0..<n { averaged[j] += s[j] / z / Float(shape.heads) }
        }
        let keptVisual = visual.sorted { averaged[$0] != averaged[$1] ? averaged[$0] > averaged[$1] : $0 < $1 }.prefix(6)
        let keep = (0..<n).filter { !visual.contains($0) || keptVisual.contains($0) }
        // Layer L = 2: attention over the keep set only.
        pruned.attend(layer: 2, queries: query, tokens: 1, scale: 0.3, mask: .causal, output: &out)
        let reference = DenseKVCache<Float>(shape: KVCacheShape(layers: 1, heads: 4, kvHeads: 2, headDim: 8, capacity: 128))
        let k = keep.flatMap { keys[($0 * shape.kvWidth)..<(($0 + 1) * shape.kvWidth)] }
        let v = keep.flatMap { values[($0 * shape.kvWidth)..<(($0 + 1) * shape.kvWidth)] }
        try reference.append(layer: 0, keys: k, values: v, tokens: keep.count)
        reference.attend(layer: 0, queries: query, tokens: 1, scale: 0.3, mask: .causal, output: &full)
        for i in 0..<out.count { XCTAssertEqual(out[i], full[i], accuracy: 1e-5) }
        XCTAssertEqual(pruned.recomputations, 1)
    }

    func testPackedCachesAreNotWrapped() {
        XCTAssertNil(DyCokeKVCache(base: KVCacheType.q8.makeCache(shape: shape), visual: 0..<4, layer: 1, pruneRatio: 0.5, threshold: 0.9))
    }
}
