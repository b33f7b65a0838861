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

    func testGemmWithAlphaAndBeta() {
        let a: [Float] = [1, 2, 3, 4]      // 2x2
        let b: [Float] = [0, 1, 1, 0]      // 2x2 swap
        var c: [Float] = [1, 1, 1, 1]
        BLAS.gemm(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2, alpha: 2, beta: 1)
        XCTAssertEqual(c, [5, 3, 9, 7])
    }
}
