import XCTest
@testable import Prune

/// DyCoke's temporal merging on frames built so that the right answer is known: each later
/// frame repeats its reference frame except at chosen token positions, and exactly those
/// positions (the least similar) must be kept.
final class DyCokeTests: XCTestCase {
    /// `frames` frames of `n` tokens of width `d`; frame f differs from its DyCoke reference at `changed[f]`.
    func video(frames: Int, n: Int, d: Int, changed: [Int: [Int]]) -> [Float] {
        var x = [Float](repeating: 0, count: frames * n * d)
        var seed: UInt64 = 7
        func rnd() -> Float { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Float(seed >> 40) / Float(1 << 24) - 0.5 }
        for f in 0..<frames {
            let offset = f % 4
            let reference = offset == 0 ? nil : (offset == 3 ? f - 1 : f - offset)
            for t in 0..<n {
                for i in 0..<d {
                    let base = reference.map { x[($0 * n + t) * d + i] } ?? rnd()
                    x[(f * n + t) * d + i] = (changed[f] ?? []).contains(t) ? -base + rnd() : base
                }
            }
        }
        return x
    }

    func testKeepsExactlyTheChangedTokens() {
        let n = 20, d = 8
        let r = DyCokeReducer(mergeRatio: 0.8)       // k' = 4 of 20
        XCTAssertEqual(r.keptPerPrunedFrame(n), 4)
        let changed = [1: [0, 5, 9, 19], 2: [1, 2, 3, 4], 3: [7, 8, 11, 12], 5: [3, 6, 13, 14], 6: [0, 1, 18, 19]]
        let kept = r.merge(video(frames: 7, n: n, d: d, changed: changed), frames: 7, tokensPerFrame: n, width: d)
        XCTAssertEqual(kept.count, 7)
        XCTAssertEqual(kept[0], Array(0..<n))
        XCTAssertEqual(kept[4], Array(0..<n))
        for (f, positions) in changed { XCTAssertEqual(kept[f], positions, "frame \(f)") }
    }

    func testCountsIncludeShortLastWindows() {
        // The reference drops an odd last frame and leaves the last window's third frame whole;
        // here every frame but each window's first is pruned, whatever the frame count.
        let r = DyCokeReducer(mergeRatio: 0.7)
        XCTAssertEqual(r.keptPerPrunedFrame(196), 58)
        XCTAssertEqual(r.mergedCount(frames: 32, tokensPerFrame: 196), 8 * 196 + 24 * 58)
        for frames in 1...9 {
            let kept = r.merge(video(frames: frames, n: 10, d: 4, changed: [:]), frames: frames, tokensPerFrame: 10, width: 4)
            XCTAssertEqual(kept.reduce(0) { $0 + $1.count }, r.mergedCount(frames: frames, tokensPerFrame: 10), "\(frames) frames")
            XCTAssertTrue(kept.allSatisfy { $0 == $0.sorted() })
        }
    }

    func testRegistryOptionsAndImages() throws {
        let r = try ReducerRegistry.make(name: "dycoke", options: ["dycoke_k=0.5", "dycoke_l=4", "dycoke_p=0.8", "threshold=0.85"],
                                         seed: 0, encoderLayers: 12) as! DyCokeReducer
        XCTAssertEqual(r.mergeRatio, 0.5); XCTAssertEqual(r.pruneLayer, 4); XCTAssertEqual(r.pruneRatio, 0.8); XCTAssertEqual(r.threshold, 0.85)
        XCTAssertThrowsError(try ReducerRegistry.make(name: "dycoke", options: ["dycoke_k=1.5"], seed: 0, encoderLayers: 12))
        // A temporal reducer, never an image one: the pipeline refuses it for images before any
        // reducer runs (VisionTests.ReducerEndToEndTests checks that error).
        XCTAssertFalse((r as Any) is any TokenReducer)
        XCTAssertTrue(ReducerRegistry.sizesItself.contains("dycoke"))
    }
}
