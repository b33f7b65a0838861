import XCTest
@testable import VLMRuntime

final class KernelTests: XCTestCase {
    func testRMSNormMatchesFormula() {
        let x: [Float] = [1, -2, 3, -4, 5, -6, 7, -8, 9, 10]
        let w: [Float] = (0..<10).map { 0.5 + Float($0) * 0.1 }
        var y = [Float](repeating: 0, count: 10)
        Norms.rmsNorm(x, &y, rows: 1, width: 10, weight: w, eps: 1e-6)
        let rms = (x.map { Double($0 * $0) }.reduce(0, +) / 10 + 1e-6).squareRoot()
        for i in 0..<10 { XCTAssertEqual(y[i], Float(Double(x[i]) / rms) * w[i], accuracy: 1e-5) }
        // Gemma's (1 + w) form.
        Norms.rmsNorm(x, &y, rows: 1, width: 10, weight: w, eps: 1e-6, weightOffset: 1)
        XCTAssertEqual(y[3], Float(Double(x[3]) / rms) * (1 + w[3]), accuracy: 1e-5)
    }

    func testLayerNormMatchesFormula() {
        let x: [Float] = [1, 2, 3, 4, 10, -3]
        let w: [Float] = [1, 2, 1, 2, 1, 2], b: [Float] = [0, 1, 0, 1, 0, 1]
        var y = [Float](repeating: 0, count: 6)
        Norms.layerNorm(x, &y, rows: 1, width: 6, weight: w, bias: b, eps: 1e-5)
        let mean = x.reduce(0, +) / 6
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 6
        for i in 0..<6 { XCTAssertEqual(y[i], (x[i] - mean) / (variance + 1e-5).squareRoot() * w[i] + b[i], accuracy: 1e-5) }
    }

    /// The two RoPE layouts are the same rotation on permuted dimensions: interleaved pair
    /// (2i, 2i+1) plays the role of split-half pair (i, i + d/2). This is exactly the permutation
    /// llama.cpp's converter applies to Llama q/k weights.
    func testRoPELayoutsAgreeUnderPermutation() {
        let d = 16, heads = 2
        var rng = SeededGenerator(seed: 9)
        let x = (0..<heads * d).map { _ in rng.nextUnit() - 0.5 }
        var inter = [Float](repeating: 0, count: heads * d)
        for h in 0..<heads { for i in 0..<d / 2 {
            inter[h * d + 2 * i] = x[h * d + i]; inter[h * d + 2 * i + 1] = x[h * d + i + d / 2]
        } }
        var split = x
        let positions: [Int32] = [37]
        RotaryEmbedding(layout: .splitHalf, rotaryDims: d, base: 10000).apply(&split, tokens: 1, rowStride: heads * d, heads: heads, headDim: d, positions: positions)
        RotaryEmbedding(layout: .interleaved, rotaryDims: d, base: 10000).apply(&inter, tokens: 1, rowStride: heads * d, heads: heads, headDim: d, positions: positions)
        for h in 0..<heads { for i in 0..<d / 2 {
            XCTAssertEqual(inter[h * d + 2 * i], split[h * d + i], accuracy: 1e-6)
            XCTAssertEqual(inter[h * d + 2 * i + 1], split[h * d + i + d / 2], accuracy: 1e-6)
        } }
        // Position 0 is the identity; the rotation preserves each pair's norm.
        var y = x
        RotaryEmbedding(layout: .splitHalf, rotaryDims: d, base: 10000).apply(&y, tokens: 1, rowStride: heads * d, heads: heads, headDim: d, positions: [0])
        XCTAssertEqual(y, x)
        let pairNorm = { (v: [Float]) in v[0] * v[0] + v[d / 2] * v[d / 2] }
        XCTAssertEqual(pairNorm(split), pairNorm(x), accuracy: 1e-6)
    }

    func testActivations() {
        XCTAssertEqual(Activation.silu(1), 1 / (1 + Foundation.exp(-1)), accuracy: 1e-6)
        XCTAssertEqual(Activation.gelu(1), 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(Activation.geluTanh(1), 0.8411920, accuracy: 1e-6)
        XCTAssertEqual(Activation.quickGelu(1), 1 / (1 + Foundation.exp(-1.702)), accuracy: 1e-6)
    }

    func testSoftmaxIsStableForLargeInputs() {
        var x: [Float] = [1000, 1001, 999]
        Softmax.inPlace(&x, count: 3)
        XCTAssertEqual(x.reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(x[1], 0.66524096, accuracy: 1e-6)
    }
}
