import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// A float32 weight matrix rounded once to bfloat16 in the packed layout of
/// `CKernels/gemm_bf16.c`, for linear layers that may trade precision for speed: on CPUs with
/// AVX-512-BF16 its products run at twice float32's multiply-add rate, at half the memory.
///
/// Opt-in, for the vision encoders: `--vision-bf16` or `VLM_VISION_BF16=1`. The cost is bf16's
/// 8-bit mantissa on weights and activations (products accumulate in float32), measured against
/// float32 on the family fixtures in docs/PERFORMANCE.md; float32 stays the default.
public struct BF16Weights: @unchecked Sendable {
    /// Whether bf16 products were asked for (set from the command line before models load).
    nonisolated(unsafe) public static var requested: Bool = getenv("VLM_VISION_BF16").map { String(cString: $0) == "1" } ?? false

    /// Whether the CPU path in force can run them.
    public static var available: Bool { vlm_gemm_bf16_supports() != 0 }

    /// Whether layers loaded now should pack bf16 weights.
    public static var enabled: Bool { requested && available }

    public let rows: Int
    public let cols: Int
    private let packed: [UInt16]

    /// W[rows x cols], one output feature per row.
    public init(_ w: UnsafePointer<Float>, rows: Int, cols: Int) {
        self.rows = rows; self.cols = cols
        var p = [UInt16](repeating: 0, count: vlm_bf16_packed_count(rows, cols))
        p.withUnsafeMutableBufferPointer { vlm_bf16_pack(w, rows, cols, $0.baseAddress!) }
        packed = p
    }

    /// scale * W for rows `rowStride` floats apart (attention's keys inside the stacked q|k|v
    /// rows), copied contiguous first.
    public init(_ w: UnsafePointer<Float>, rows: Int, cols: Int, rowStride: Int, scale: Float) {
        var dense = [Float](repeating: 0, count: rows * cols)
        for r in 0..<rows { for c in 0..<cols { dense[r * cols + c] = w[r * rowStride + c] * scale } }
        self = dense.withUnsafeBufferPointer { BF16Weights($0.baseAddress!, rows: rows, cols: cols) }
    }

    /// y[m x rows] = x[m x cols] Wᵀ on the calling thread (callers split rows of x across
    /// threads), rows of x `ldx` apart and of y `ldy` apart (default: dense). Returns false,
    /// computing nothing, when the CPU path has no bf16 GEMM.
    public func product(_ x: UnsafePointer<Float>, rows m: Int, ldx: Int? = nil, into y: UnsafeMutablePointer<Float>,
                        ldy: Int? = nil) -> Bool {
        packed.withUnsafeBufferPointer { vlm_gemm_bf16($0.baseAddress!, rows, cols, x, m, ldx ?? cols, y, ldy ?? rows) } != 0
    }
}
