import XCTest
@testable import Prune

final class BaselineReducerTests: XCTestCase {
    func testNoneKeepsEverything() {
        XCTAssertEqual(NoReducer().keep(count: 5, budget: 2), [0, 1, 2, 3, 4])
    }

    func testRandomKeepsBudgetDistinctSortedAndIsSeeded() {
        let a = RandomReducer(seed: 7).keep(count: 576, budget: 64)
        XCTAssertEqual(a.count, 64)
        XCTAssertEqual(Set(a).count, 64)
        XCTAssertEqual(a, a.sorted())
        XCTAssertTrue(a.allSatisfy { (0..<576).contains($0) })
        XCTAssertEqual(a, RandomReducer(seed: 7).keep(count: 576, budget: 64))
        XCTAssertNotEqual(a, RandomReducer(seed: 8).keep(count: 576, budget: 64))
        XCTAssertEqual(RandomReducer(seed: 1).keep(count: 10, budget: 50), Array(0..<10))
    }

    /// Every index is equally likely: over many seeds, each of 8 tokens is kept about half the
    /// time when keeping 4.
    func testRandomIsUniform() {
        var hits = [Int](repeating: 0, count: 8)
        for s in 0..<4000 { for i in RandomReducer(seed: UInt64(s)).keep(count: 8, budget: 4) { hits[i] += 1 } }
        for h in hits { XCTAssertEqual(Double(h) / 4000, 0.5, accuracy: 0.04) }
    }
}
