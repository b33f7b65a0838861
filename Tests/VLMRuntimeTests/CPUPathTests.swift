import XCTest
import CKernels
@testable import VLMRuntime

/// Every CPU path the kernels dispatch to (`CKernels/cpu_path.c`) against the portable C, one
/// test per path. A path this machine lacks is skipped by name ("not run"), never passed.
///
/// Tolerances: the integer kernels compute the same integer sums on every path, so they differ
/// only in float summation order (1e-5 Σ|w x| + 1e-6); the float kernels use the same
/// polynomial exponential and differ in summation order (relative 1e-5 on sums, 2e-6 on
/// element-wise results); half conversion is exact (round to nearest even both ways).
final class CPUPathTests: XCTestCase {
    override func tearDown() { CPUPath.force(nil) }

    func testPortablePathMatchesReference() throws { try checkPath(.portable) }
    func testAVX2PathMatchesPortable() throws { try checkPath(.avx2) }
    func testAVX512PathMatchesPortable() throws { try checkPath(.avx512) }

    /// The bf16 GEMM against float32 sgemm: both operands rounded to bf16 (relative 2^-9 each),
    /// sums in float32, so |y - y_f32| <= 2^-7 Σ|w x| (a bound with a factor 2 of slack).
    func testBF16GEMMWithinRoundingOfFloat32() throws {
        guard BF16Weights.available else {
            throw XCTSkip("bf16 GEMM: not run, this CPU (path \(CPUPath.best.name)) has no AVX-512-BF16")
        }
        var rng = QuantDotTests.Rng(state: 9)
        for (m, k, n) in [(1, 2, 1), (7, 33, 5), (37, 70, 33), (130, 96, 64), (9, 1152, 40)] {
            let w = (0..<n * k).map { _ in rng.uniform(-1, 1) }, x = (0..<m * k).map { _ in rng.uniform(-1, 1) }
            let packed = BF16Weights(w, rows: n, cols: k)
            var y = [Float](repeating: .nan, count: m * n)
            XCTAssertTrue(packed.product(x, rows: m, into: &y))
            for i in 0..<m {
                for j in 0..<n {
                    var exact = 0.0, magnitude = 0.0
                    for c in 0..<k { exact += Double(x[i * k + c]) * Double(w[j * k + c]); magnitude += abs(Double(x[i * k + c] * w[j * k + c])) }
                    XCTAssertEqual(Double(y[i * n + j]), exact, accuracy: magnitude / 128 + 1e-6, "\(m)x\(k)x\(n) [\(i), \(j)]")
                }
            }
        }
    }

    func testPathNamesRoundTrip() {
        for p in CPUPath.allCases { XCTAssertEqual(CPUPath(name: p.name), p) }
        XCTAssertNil(CPUPath(name: "amx512"))
        XCTAssertLessThanOrEqual(CPUPath.current, CPUPath.best)
        XCTAssertEqual(CPUPath.force(.portable), .portable)
        XCTAssertEqual(CPUPath.current, .portable)
    }

    private func checkPath(_ path: CPUPath) throws {
        guard path <= CPUPath.best else {
            throw XCTSkip("CPU path \(path.name): not run, this CPU supports at most \(CPUPath.best.name)")
        }
        checkQuantKernels(path)
        checkFloatKernels(path)
    }

    /// Runs `body` at `path` and at portable; returns both results.
    private func both<T>(_ path: CPUPath, _ body: () -> T) -> (fast: T, plain: T) {
        XCTAssertEqual(CPUPath.force(path), path)
        let fast = body()
        CPUPath.force(.portable)
        let plain = body()
        CPUPath.force(nil)
        return (fast, plain)
    }

    private func checkQuantKernels(_ path: CPUPath) {
        var rng = QuantDotTests.Rng(state: 11)
        // Odd block counts and row counts exercise the pair, quad and group tails.
        for (rows, cols) in [(1, 32), (5, 96), (4, 512), (9, 576), (7, 1536), (3, 2080)] {
            for type in QuantDotTests.types where cols % type.blockSize == 0 {
                let w = QuantDotTests.randomRows(type, rows: rows, cols: cols, &rng)
                let x = (0..<cols).map { _ in rng.uniform(-2, 2) }
                let ref = QuantDotTests.reference(type, w, rows: rows, cols: cols, x: x)
                for int8 in [true, false] {
                    let (fast, plain) = both(path) { QuantDotTests.kernel(type, w, rows: rows, cols: cols, x: x, int8: int8, portable: false) }
                    for r in 0..<rows {
                        XCTAssertLessThanOrEqual(abs(Double(fast[r]) - Double(plain[r])), 1e-5 * ref.absProducts[r] + 1e-6,
                                                 "\(path.name) \(type) \(rows)x\(cols) row \(r) int8 \(int8)")
                    }
                }
                if vlm_q16_supports(Int32(type.rawValue)) != 0 {
                    let (fast, plain) = both(path) { Self.q16(w, rows: rows, cols: cols, x: x) }
                    for r in 0..<rows {
                        XCTAssertLessThanOrEqual(abs(Double(fast[r]) - Double(plain[r])), 1e-5 * ref.absProducts[r] + 1e-6,
                                                 "\(path.name) q16 \(rows)x\(cols) row \(r)")
                        let bound = ref.roundingBound[r] * 254 / 65534 + 1e-5 * ref.absProducts[r] + 1e-6
                        XCTAssertLessThanOrEqual(abs(Double(plain[r]) - ref.y[r]), bound, "q16 portable vs reference row \(r)")
                    }
                }
            }
        }
        // Activation quantization is identical on every path (same rounding, same scale).
        let x = (0..<1024).map { _ in rng.uniform(-3, 3) }
        let (fast, plain) = both(path) { () -> [vlm_q8_block] in
            var q = [vlm_q8_block](repeating: vlm_q8_block(), count: 32)
            vlm_quantize_q8(x, 1024, &q)
            return q
        }
        for b in 0..<32 {
            XCTAssertEqual(fast[b].d, plain[b].d)
            XCTAssertEqual(fast[b].s, plain[b].s)
            XCTAssertEqual(withUnsafeBytes(of: fast[b].qs) { Array($0) }, withUnsafeBytes(of: plain[b].qs) { Array($0) }, "block \(b)")
        }
    }

    static func q16(_ w: [UInt8], rows: Int, cols: Int, x: [Float]) -> [Float] {
        var q = [vlm_q16_block](repeating: vlm_q16_block(), count: cols / 32)
        vlm_quantize_q16(x, cols, &q)
        var y = [Float](repeating: .nan, count: rows)
        w.withUnsafeBytes { vlm_matvec_q16(Int32(GGMLType.q8_0.rawValue), $0.baseAddress!, GGMLType.q8_0.rowBytes(cols)!, 0, rows, cols, q, &y, 0) }
        return y
    }

    private func checkFloatKernels(_ path: CPUPath) {
        var rng = QuantDotTests.Rng(state: 5)
        for n in [1, 7, 16, 33, 576, 1000] {
            let a = (0..<n).map { _ in rng.uniform(-4, 4) }, b = (0..<n).map { _ in rng.uniform(-4, 4) }
            let absSum = zip(a, b).map { abs($0 * $1) }.reduce(0, +)
            let dot = both(path) { vlm_dot_f32(a, b, n) }
            XCTAssertEqual(dot.fast, dot.plain, accuracy: 1e-5 * absSum + 1e-6, "\(path.name) dot n \(n)")

            let halves = a.map { Float16($0).bitPattern }
            let widened = both(path) { () -> [Float] in var out = [Float](repeating: 0, count: n); vlm_f16_to_f32(halves, &out, n); return out }
            XCTAssertEqual(widened.fast, widened.plain, "\(path.name) f16 -> f32 n \(n)")
            XCTAssertEqual(widened.plain, halves.map { Float(Float16(bitPattern: $0)) }, "portable f16 -> f32 n \(n)")
            let narrowed = both(path) { () -> [UInt16] in var out = [UInt16](repeating: 0, count: n); vlm_f32_to_f16(a, &out, n); return out }
            XCTAssertEqual(narrowed.fast, narrowed.plain, "\(path.name) f32 -> f16 n \(n)")
            XCTAssertEqual(narrowed.plain, halves, "portable f32 -> f16 n \(n)")

            let soft = both(path) { () -> [Float] in var v = a; vlm_softmax(&v, n); return v }
            let ref = a.map { expf($0 - a.max()!) }, total = ref.reduce(0, +)
            for i in 0..<n {
                XCTAssertEqual(soft.fast[i], soft.plain[i], accuracy: 2e-6 * max(soft.plain[i], 1e-3), "\(path.name) softmax")
                XCTAssertEqual(soft.plain[i], ref[i] / total, accuracy: 1e-6 + 1e-5 * ref[i] / total, "softmax vs libm")
            }
            for kind in [VLM_ACT_SILU, VLM_ACT_GELU_TANH, VLM_ACT_GELU, VLM_ACT_QUICK_GELU] {
                let act = both(path) { () -> [Float] in var v = a; vlm_activation_gated(Int32(kind), &v, b, n); return v }
                for i in 0..<n { XCTAssertEqual(act.fast[i], act.plain[i], accuracy: 2e-6 * max(abs(act.plain[i]), 1), "\(path.name) act \(kind)") }
            }
            let w = (0..<n).map { _ in rng.uniform(0.5, 1.5) }
            let rms = both(path) { () -> [Float] in var y = [Float](repeating: 0, count: n); vlm_rmsnorm(a, &y, 1, n, w, 1e-6, 0); return y }
            let ln = both(path) { () -> [Float] in var y = [Float](repeating: 0, count: n); vlm_layernorm(a, &y, 1, n, w, b, 1e-6); return y }
            for i in 0..<n {
                XCTAssertEqual(rms.fast[i], rms.plain[i], accuracy: 1e-5 * max(abs(rms.plain[i]), 1), "\(path.name) rmsnorm")
                XCTAssertEqual(ln.fast[i], ln.plain[i], accuracy: 1e-4 * max(abs(ln.plain[i]), 1), "\(path.name) layernorm")
            }
        }
        // One decode attention job, f16 and f32 rows, whole and as merged partials.
        let hd = 64, group = 3, n = 300, stride = 2 * hd
        let q = (0..<group * hd).map { _ in rng.uniform(-1, 1) }
        let k = (0..<n * stride).map { _ in rng.uniform(-1, 1) }, v = (0..<n * stride).map { _ in rng.uniform(-1, 1) }
        let k16 = k.map { Float16($0) }, v16 = v.map { Float16($0) }
        for f16 in [false, true] {
            let out = both(path) { () -> [Float] in
                var scores = [Float](repeating: 0, count: group * n), o = [Float](repeating: 0, count: group * hd)
                if f16 { vlm_attend(q, group, hd, k16, v16, 1, stride, 0, n, 0.125, &scores, &o, nil, nil, 1) }
                else { vlm_attend(q, group, hd, k, v, 0, stride, 0, n, 0.125, &scores, &o, nil, nil, 1) }
                return o
            }
            for i in 0..<group * hd { XCTAssertEqual(out.fast[i], out.plain[i], accuracy: 1e-5, "\(path.name) attend f16 \(f16)") }
        }
    }
}
