import XCTest
@testable import VLMRuntime

/// OpenBLAS through the system-library target: small products checked by hand.
final class BLASTests: XCTestCase {
    func testGemmABtComputesLinearLayerProduct() {
        // A [2x3] · B[2x3]ᵀ
        let a: [Float] = [1, 2, 3,
                          4, 5, 6]
        let b: [Float] = [1, 0, -1,
                          2, 1, 0]
        var c = [Float](repeating: 9, count: 4)
        BLAS.gemmABt(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 3, c: &c, ldc: 2)
        XCTAssertEqual(c, [-2, 4, -2, 13])
    }

    /// The sgemm smoke test: X[3x4] · W[2x4]ᵀ, as a linear layer of 2 outputs over 3 tokens.
    func testGemmABtThreeTokensTwoOutputs() {
        let x: [Float] = [1, 2, 3, 4,
                          0, 1, 0, -1,
                          2, 2, 2, 2]
        let w: [Float] = [1, 1, 1, 1,
                          1, -1, 2, 0.5]
        var y = [Float](repeating: .nan, count: 6)
        BLAS.gemmABt(m: 3, n: 2, k: 4, a: x, lda: 4, b: w, ldb: 4, c: &y, ldc: 2)
        // Row 0: 1+2+3+4 = 10; 1-2+6+2 = 7. Row 1: 0; -1-0.5 = -1.5. Row 2: 8; 2-2+4+1 = 5.
        XCTAssertEqual(y, [10, 7, 0, -1.5, 8, 5])
    }

    func testGemmWithAlphaAndBeta() {
        let a: [Float] = [1, 2, 3, 4]      // 2x2
        let b: [Float] = [0, 1, 1, 0]      // 2x2 swap
        var c: [Float] = [1, 1, 1, 1]
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2, alpha: 2, beta: 1)
        XCTAssertEqual(c, [5, 3, 9, 7])
    }
}
