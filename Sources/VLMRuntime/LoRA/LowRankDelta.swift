/// One adapted product's low-rank update: y += s · B(A x), with A [rank x in] and B [out x rank]
/// (PyTorch's lora_A / lora_B weights), applied beside the base product and never merged into
/// it, so a quantized base stays as stored. Two float32 GEMMs through BLAS: x·Aᵀ into a
/// rank-wide scratch, then its product with Bᵀ accumulated into y with alpha = s.
public struct LowRankDelta: Sendable {
    public let a: [Float]
    public let b: [Float]
    public let rank: Int
    public let inFeatures: Int
    public let outFeatures: Int
    public let scale: Float

    public init(a: [Float], b: [Float], rank: Int, inFeatures: Int, outFeatures: Int, scale: Float) {
        precondition(a.count == rank * inFeatures && b.count == outFeatures * rank, "LoRA factors do not match their shapes")
        self.a = a; self.b = b; self.rank = rank; self.inFeatures = inFeatures; self.outFeatures = outFeatures; self.scale = scale
    }

    /// y[rows x out] += s · (x[rows x in] Aᵀ) Bᵀ; `scratch` holds at least rows x rank floats.
    public func add(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        a.withUnsafeBufferPointer { ab in b.withUnsafeBufferPointer { bb in
            BLAS.gemmABt(m: rows, n: rank, k: inFeatures, a: x, lda: inFeatures, b: ab.baseAddress!, ldb: inFeatures, c: scratch, ldc: rank)
            BLAS.gemmABt(m: rows, n: outFeatures, k: rank, a: scratch, lda: rank, b: bb.baseAddress!, ldb: rank, c: y, ldc: outFeatures,
                         alpha: scale, beta: 1)
        }}
    }
}

/// The updates of one adapter for one decoder layer, by the product they adapt.
public struct LayerDeltas: Sendable {
    public var query: LowRankDelta?, key: LowRankDelta?, value: LowRankDelta?, output: LowRankDelta?
    public var gate: LowRankDelta?, up: LowRankDelta?, down: LowRankDelta?
    public init() {}
    var all: [LowRankDelta] { [query, key, value, output, gate, up, down].compactMap { $0 } }
}
