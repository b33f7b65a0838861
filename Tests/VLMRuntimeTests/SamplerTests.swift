import XCTest
@testable import VLMRuntime

final class SamplerTests: XCTestCase {
    let logits: [Float] = [0.5, 3.0, 2.9, -1.0, 3.0, 0.0]

    func testGreedyTakesFirstMaximum() {
        var s = Sampler(SamplingOptions())
        var l = logits
        XCTAssertEqual(s.sample(&l, history: []), 1)
    }

    func testSeedMakesSamplingReproducibleAndSeedsDiffer() {
        func draw(_ seed: UInt64) -> [Int32] {
            var s = Sampler(SamplingOptions(temperature: 1.5, seed: seed))
            return (0..<64).map { _ in var l = logits; return s.sample(&l, history: []) }
        }
        XCTAssertEqual(draw(42), draw(42))
        XCTAssertNotEqual(draw(42), draw(43))
        XCTAssertGreaterThan(Set(draw(42)).count, 2, "temperature 1.5 should visit several tokens")
    }

    func testTopKOneAndTinyTopPAreGreedy() {
        var a = Sampler(SamplingOptions(temperature: 2, topK: 1, seed: 1))
        var b = Sampler(SamplingOptions(temperature: 2, topP: 0.01, seed: 1))
        for _ in 0..<20 {
            var l1 = logits, l2 = logits
            XCTAssertTrue([1, 4].contains(a.sample(&l1, history: [])))
            XCTAssertTrue([1, 4].contains(b.sample(&l2, history: [])))
        }
    }

    func testMinPDropsUnlikelyTokens() {
        // min-p 0.5: only tokens with p >= 0.5 * p_max survive: ids 1, 2, 4 (exp(-0.1) > 0.5).
        var s = Sampler(SamplingOptions(temperature: 1, minP: 0.5, seed: 3))
        var seen = Set<Int32>()
        for _ in 0..<300 { var l = logits; seen.insert(s.sample(&l, history: [])) }
        XCTAssertEqual(seen, [1, 2, 4])
    }

    func testRepetitionPenaltyDividesPositiveAndMultipliesNegative() {
        var s = Sampler(SamplingOptions(repetitionPenalty: 2))
        var l = logits
        let next = s.sample(&l, history: [1, 4, 3, 1])
        XCTAssertEqual(l[1], 1.5); XCTAssertEqual(l[4], 1.5); XCTAssertEqual(l[3], -2.0)
        XCTAssertEqual(next, 2, "after the penalty, token 2 (2.9) leads")
    }

    func testStopStringMatcherHoldsBackPartialMatches() {
        var m = StopStringMatcher(["</s>", "END"])
        var out = ""
        var stopped = false
        for piece in ["Hello <", "/", "x> wor", "ld E", "N", "D tail"] {
            let (emit, s) = m.feed(piece)
            out += emit
            if s { stopped = true; break }
        }
        XCTAssertTrue(stopped)
        XCTAssertEqual(out, "Hello </x> world ")
    }
}
