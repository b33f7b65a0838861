/// A linear layer's weight, [rows x cols], one output feature per row, stored in any supported
/// ggml type (quantized blocks, F16, BF16 or F32), usually straight from a memory-mapped file.
///
/// - `matVec` (decode, one token) reads the stored blocks directly with fused SIMD kernels:
///   the model is never dequantized as a whole.
/// - `matMul` (prefill, many tokens) multiplies Q4_0/Q4_1/Q5_0/Q8_0 rows in integers with
///   16-bit activations on AVX-512 VNNI (`IntegerPrefill.swift`); otherwise it dequantizes a tile of
///   rows at a time into a scratch buffer and hands it to OpenBLAS's sgemm, whose cost dwarfs
///   the dequantization.
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    public let data: UnsafeRawPointer
    /// Keeps the memory behind `data` alive (a mapped file, or an owned buffer).
    public let owner: AnyObject
    /// Bytes per row.
    public let rowBytes: Int

    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer, owner: AnyObject) {
        precondition(cols % type.blockSize == 0, "row length \(cols) is not a whole number of \(type) blocks")
        self.type = type; self.rows = rows; self.cols = cols; self.data = data; self.owner = owner
        rowBytes = cols / type.blockSize * type.blockBytes
    }

    /// A float32 matrix that owns its values (tests, converted weights).
    public init(rows: Int, cols: Int, floats: [Float]) {
        precondition(floats.count == rows * cols)
        let storage = FloatStorage(floats)
        self.init(type: .f32, rows: rows, cols: cols, data: UnsafeRawPointer(storage.pointer), owner: storage)
    }

    /// A float32 matrix quantized to llama.cpp's q8_0 blocks (a Float16 scale and 32 Int8 codes
    /// per 32 values, the scale rounded up: |x - d*q| <= d/2), as a GGUF converter would store
    /// it. For benchmarks of model shapes with random weights at the precision people run.
    public static func q8_0(rows: Int, cols: Int, floats: [Float]) -> WeightMatrix {
        precondition(floats.count == rows * cols && cols % GGMLType.q8_0.blockSize == 0)
        let rowBytes = cols / GGMLType.q8_0.blockSize * GGMLType.q8_0.blockBytes
        let storage = ByteStorage(count: rows * rowBytes)
        let dst = storage.pointer
        floats.withUnsafeBufferPointer { src in
            let x = src.baseAddress!
            Parallel.forRange(rows) { start, end in
                for r in start..<end { Q8Codec.encode(x + r * cols, count: cols, to: dst + r * rowBytes) }
            }
        }
        return WeightMatrix(type: .q8_0, rows: rows, cols: cols, data: UnsafeRawPointer(dst), owner: storage)
    }

    public func dequantizeRows(_ range: Range<Int>, into dst: UnsafeMutablePointer<Float>) {
        Dequantize.row(type, data + range.lowerBound * rowBytes, dst, count: range.count * cols)
    }

    /// y[rows] = W x[cols], rows split across `Parallel.threadCount` threads. Unless
    /// `exactActivations`, x is quantized to 8 bits for the integer kernels (see `QuantDot`).
    public func matVec(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, exactActivations: Bool = false) {
        Self.matVec([self], x, [y], exactActivations: exactActivations)
    }

    /// Several products of the same input, y_i = W_i x (q, k and v; gate and up), in one
    /// parallel region with x quantized once: one dispatch instead of one per matrix, which
    /// matters when a decode step is a few hundred small mat-vecs. Rows are claimed in several
    /// chunks per thread, so a thread the VM descheduled for a moment delays only a small piece.
    public static func matVec(_ matrices: [WeightMatrix], _ x: UnsafePointer<Float>,
                              _ outputs: [UnsafeMutablePointer<Float>], exactActivations: Bool = false) {
        precondition(matrices.count == outputs.count && !matrices.isEmpty)
        let cols = matrices[0].cols
        precondition(matrices.allSatisfy { $0.cols == cols }, "the matrices of one input differ in width")
        QuantDot.with(x, cols: cols, types: matrices.map(\.type), exactActivations: exactActivations) { kernels in
            forRows(of: matrices, granularity: 16) { i, rows in
                kernels[i].rows(rows, data: matrices[i].data, rowBytes: matrices[i].rowBytes, y: outputs[i])
            }
        }
    }

    /// The rows of several matrices, taken end to end, split across the worker threads in one
    /// parallel region (two chunks per thread): `body(i, rows)` for each piece of matrix i.
    static func forRows(of matrices: [WeightMatrix], granularity: Int, _ body: (Int, Range<Int>) -> Void) {
        var offsets = [0]
        for m in matrices { offsets.append(offsets.last! + m.rows) }
        Parallel.forRange(offsets.last!, granularity: granularity, minChunk: 64, chunksPerThread: 2) { start, end in
            for i in matrices.indices where offsets[i] < end && offsets[i + 1] > start {
                body(i, max(start, offsets[i]) - offsets[i]..<min(end, offsets[i + 1]) - offsets[i])
            }
        }
    }

    /// `matMul` of several matrices on the same input; decode steps share one parallel region.
    public static func matMul(_ matrices: [WeightMatrix], _ x: UnsafePointer<Float>, rows t: Int,
                              _ outputs: [UnsafeMutablePointer<Float>], exactActivations: Bool = false) {
        if t == 1 { matVec(matrices, x, outputs, exactActivations: exactActivations); return }
        if t > 2 && integerMatMul(matrices, x, rows: t, outputs, exactActivations: exactActivations) { return }
        for (m, y) in zip(matrices, outputs) { m.matMul(x, rows: t, y, exactActivations: exactActivations) }
    }

    /// Y[t x rows] = X[t x cols] Wᵀ.
    ///
    /// The weight rows are split across the worker threads; each worker dequantizes tiles of its
    /// rows into its own scratch and runs a single-threaded sgemm on them. OpenBLAS's own thread
    /// pool stays off (see `BLAS.singleThreaded`): two pools spinning against each other cost a third
    /// of the prefill time.
    public func matMul(_ x: UnsafePointer<Float>, rows t: Int, _ y: UnsafeMutablePointer<Float>,
                       exactActivations: Bool = false) {
        if t <= 2 {
            for i in 0..<t { matVec(x + i * cols, y + i * rows, exactActivations: exactActivations) }
            return
        }
        if Self.integerMatMul([self], x, rows: t, [y], exactActivations: exactActivations) { return }
        // At most ~1 M floats (4 MB) of dequantized weights per worker at a time.
        let tileRows = max(16, min(rows, (1 << 20) / cols))
        Parallel.forRange(rows, granularity: 16, minChunk: 64) { start, end in
            if type == .f32 {
                BLAS.gemmABt(m: t, n: end - start, k: cols, a: x, lda: cols,
                             b: data.assumingMemoryBound(to: Float.self) + start * cols, ldb: cols,
                             c: y + start, ldc: rows)
                return
            }
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: min(tileRows, end - start) * cols)
            defer { tile.deallocate() }
            var r0 = start
            while r0 < end {
                let n = min(tileRows, end - r0)
                dequantizeRows(r0..<r0 + n, into: tile)
                BLAS.gemmABt(m: t, n: n, k: cols, a: x, lda: cols, b: tile, ldb: cols, c: y + r0, ldc: rows)
                r0 += n
            }
        }
    }
}

/// Owned, 64-byte aligned raw storage for `WeightMatrix.q8_0`.
final class ByteStorage {
    let pointer: UnsafeMutableRawPointer
    init(count: Int) { pointer = .allocate(byteCount: max(1, count), alignment: 64) }
    deinit { pointer.deallocate() }
}

/// Owned float storage for `WeightMatrix(rows:cols:floats:)`.
final class FloatStorage {
    let pointer: UnsafeMutablePointer<Float>
    init(_ values: [Float]) {
        pointer = .allocate(capacity: max(1, values.count))
        values.withUnsafeBufferPointer { pointer.initialize(from: $0.baseAddress!, count: values.count) }
    }
    deinit { pointer.deallocate() }
}
