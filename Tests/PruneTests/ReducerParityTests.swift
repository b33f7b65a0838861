import Foundation
import XCTest
import VLMRuntime
@testable import Prune

/// The Swift reducers against independent NumPy implementations of the published algorithms
/// (tools/reducers_reference.py) on fixed random inputs: identical kept indices and merged
/// tokens within 1e-5, for several budgets, with and without a class token, on a non-square
/// grid, and for an AnyRes-like base image plus four crops reduced tile by tile.
final class ReducerParityTests: XCTestCase {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/reducers.json").path

    struct Tile: Decodable {
        let rows: Int, cols: Int, has_cls: Bool
        let tokens: [Float], projected: [Float], keys: [Float], att_object: [Float], att_deep: [Float]
    }
    struct Output: Decodable { let kept: [Int]; let merged: [Float]; let merged_count: Int }
    struct Case: Decodable { let label: String; let budget: Int; let expected: [String: [Output]] }
    struct GlobalCom2Case: Decodable { let budget: Int; let kept: [[Int]] }
    struct File: Decodable { let inputs: [String: [Tile]]; let cases: [Case]; let globalcom2_anyres: [GlobalCom2Case] }

    func input(_ t: Tile) -> ReductionInput {
        let n = t.rows * t.cols, size = n + (t.has_cls ? 1 : 0)
        let object = AttentionMap(values: t.att_object, rows: size, size: size, hasClassToken: t.has_cls)
        let deep = AttentionMap(values: t.att_deep, rows: size, size: size, hasClassToken: t.has_cls)
        return ReductionInput(tokens: TokenMatrix(values: t.tokens, count: n, width: t.tokens.count / n),
                              gridRows: t.rows, gridCols: t.cols,
                              projected: TokenMatrix(values: t.projected, count: n, width: t.projected.count / n),
                              attention: [.init(layer: 0): object, .init(layer: -2): deep,
                                          .init(layer: -2, classRowOnly: true): deep,
                                          .init(layer: -1, logits: true, classRowOnly: true): deep],
                              keys: TokenMatrix(values: t.keys, count: n, width: t.keys.count / n))
    }

    func testAllReducersMatchNumPy() throws {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: Self.path)))
        let reducers: [String: any TokenReducer] = [
            "divprune": DivPruneReducer(), "visionzip": VisionZipReducer(), "hiprune": HiPruneReducer(layerCount: 3),
            "pool": PoolReducer(), "flextok": FlexTokReducer(),
        ]
        var checked = 0
        for c in file.cases {
            let tiles = file.inputs[c.label]!
            for (name, outputs) in c.expected {
                for (t, expected) in zip(tiles, outputs) {
                    let got = try reducers[name]!.reduce(input(t), budget: c.budget)
                    let label = "\(name) \(c.label) budget \(c.budget)"
                    XCTAssertEqual(got.kept, expected.kept, label)
                    XCTAssertEqual(got.mergedCount, expected.merged_count, label)
                    XCTAssertEqual(got.merged.count, expected.merged.count, label)
                    let err = zip(got.merged, expected.merged).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThan(err, 1e-5, label)
                    XCTAssertLessThanOrEqual(got.count, c.budget, label)
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThan(checked, 80)
    }

    /// GlobalCom2 on a thumbnail and a 2 x 2 crop grid: thumbnail-guided crop budgets and
    /// combined scores, against the NumPy reference.
    func testGlobalCom2MatchesNumPy() throws {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: Self.path)))
        let tiles = file.inputs["anyres_base_and_4_crops"]!
        let reducer = GlobalCom2Reducer()
        for c in file.globalcom2_anyres {
            let thumb = input(tiles[0])
            var kept = [try reducer.reduce(thumb, budget: c.budget).kept]
            let n = tiles[0].rows * tiles[0].cols
            let guidance = GlobalCom2Reducer.guidance(thumbnailScores: try reducer.scores(thumb), side: tiles[0].rows, rows: 2, cols: 2,
                                                      retention: Float(c.budget) / Float(n))
            for (i, tile) in tiles.dropFirst().enumerated() {
                var crop = input(tile)
                crop.thumbnailGuidance = guidance[i]
                kept.append(try reducer.reduce(crop, budget: c.budget).kept)
            }
            XCTAssertEqual(kept, c.kept, "budget \(c.budget)")
        }
    }

    func testRandomKeepsBudgetDistinctSortedAndIsSeeded() {
        let a = RandomReducer.choose(count: 576, budget: 64, seed: 7)
        XCTAssertEqual(a.count, 64)
        XCTAssertEqual(Set(a).count, 64)
        XCTAssertEqual(a, a.sorted())
        XCTAssertEqual(a, RandomReducer.choose(count: 576, budget: 64, seed: 7))
        XCTAssertNotEqual(a, RandomReducer.choose(count: 576, budget: 64, seed: 8))
    }

    /// Every index is equally likely: over many seeds, each of 8 tokens is kept about half the
    /// time when keeping 4.
    func testRandomIsUniform() {
        var hits = [Int](repeating: 0, count: 8)
        for s in 0..<4000 { for i in RandomReducer.choose(count: 8, budget: 4, seed: UInt64(s)) { hits[i] += 1 } }
        for h in hits { XCTAssertEqual(Double(h) / 4000, 0.5, accuracy: 0.04) }
    }

    func testFlexTokPrefixesAreNested() throws {
        let file = try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: Self.path)))
        let t = input(file.inputs["cls_6x6"]!.first!)
        let long = try FlexTokReducer().reduce(t, budget: 21)
        for k in [1, 5, 9, 20] {
            let short = try FlexTokReducer().reduce(t, budget: k)
            XCTAssertEqual(Array(long.merged.prefix(short.merged.count)), short.merged)
        }
    }

    func testRegistryRejectsUnknownNamesAndOptions() {
        XCTAssertThrowsError(try ReducerRegistry.make(name: "nope", options: [], seed: 0, encoderLayers: 24))
        XCTAssertThrowsError(try ReducerRegistry.make(name: "divprune", options: ["x=1"], seed: 0, encoderLayers: 24))
        XCTAssertThrowsError(try ReducerRegistry.make(name: "visionzip", options: ["contextual"], seed: 0, encoderLayers: 24))
        XCTAssertThrowsError(try ReducerRegistry.make(name: "hiprune", options: ["alpha=2"], seed: 0, encoderLayers: 24))
        XCTAssertNoThrow(try ReducerRegistry.make(name: "hiprune", options: ["object_layer=5"], seed: 0, encoderLayers: 24))
    }
}
