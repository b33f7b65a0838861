import VLMRuntime

/// A float32 linear layer y = x W^T + b over row-major activations, through sgemm. Weights are
/// converted to float32 once at load (checkpoints store f32, f16 or bf16). With `--vision-bf16`
/// on a CPU with AVX-512-BF16 the products run in bfloat16 instead (`BF16Weights`; the float32
/// weights stay for the code that reads them directly).
struct DenseLinear: Sendable {
    let weight: [Float]      // outFeatures x inFeatures, one output feature per row
    let bias: [Float]?
    let inFeatures: Int
    let outFeatures: Int
    let bf16: BF16Weights?

    init(checkpoint: TensorCheckpoint, name: String, bias hasBias: Bool) throws {
        guard let info = checkpoint.info(named: name + ".weight"), info.shape.count == 2 else {
            throw VLMError.badInput("\(checkpoint.directory): missing 2-D tensor '\(name).weight'")
        }
        try self.init(weight: try checkpoint.floats(named: name + ".weight"), outFeatures: info.shape[0], inFeatures: info.shape[1],
                      bias: hasBias ? try checkpoint.floats(named: name + ".bias") : nil, name: name)
    }

    init(weight: [Float], outFeatures: Int, inFeatures: Int, bias: [Float]?, name: String) throws {
        guard weight.count == outFeatures * inFeatures else { throw VLMError.badInput("\(name).weight has \(weight.count) values, not \(outFeatures)x\(inFeatures)") }
        if let bias, bias.count != outFeatures { throw VLMError.badInput("\(name).bias has \(bias.count) values for \(outFeatures) outputs") }
        self.weight = weight; self.bias = bias; self.outFeatures = outFeatures; self.inFeatures = inFeatures
        bf16 = BF16Weights.enabled ? weight.withUnsafeBufferPointer { BF16Weights($0.baseAddress!, rows: outFeatures, cols: inFeatures) } : nil
    }

    /// y[rows x out] = x[rows x in] W^T + b, rows split across the worker threads (OpenBLAS
    /// itself runs single-threaded in this runtime). `activation`, when given, is fused in.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, activation: Activation? = nil) {
        let n = outFeatures, k = inFeatures
        weight.withUnsafeBufferPointer { wb in
            Parallel.forRange(rows, granularity: 8, minChunk: 32) { r0, r1 in
                if bf16?.product(x + r0 * k, rows: r1 - r0, into: y + r0 * n) != true {
                    BLAS.gemmABt(m: r1 - r0, n: n, k: k, a: x + r0 * k, lda: k, b: wb.baseAddress!, ldb: k, c: y + r0 * n, ldc: n)
                }
                if bias != nil || activation != nil {
                    bias.withOptionalPointer { b in
                        for r in r0..<r1 {
                            let row = y + r * n
                            if let b { for j in 0..<n { row[j] += b[j] } }
                            if let activation { activation.apply(row, count: n) }
                        }
                    }
                }
            }
        }
    }

    func callAsFunction(_ x: [Float], rows: Int) -> [Float] {
        precondition(x.count == rows * inFeatures)
        var y = [Float](repeating: 0, count: rows * outFeatures)
        x.withUnsafeBufferPointer { xb in y.withUnsafeMutableBufferPointer { apply(xb.baseAddress!, rows: rows, into: $0.baseAddress!) } }
        return y
    }
}

extension Optional where Wrapped == [Float] {
    /// Calls `body` with the array's base address, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
