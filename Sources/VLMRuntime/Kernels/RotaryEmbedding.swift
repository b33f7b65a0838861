#if canImport(Glibc)
import Glibc
#endif

/// Rotary position embedding (RoPE) applied to the query and key heads.
///
/// Two layouts of the rotated pairs exist in the wild, and a checkpoint only works with the one
/// it was converted for:
/// - `.interleaved`: pairs (2i, 2i+1). llama.cpp's "normal" RoPE; its converter permutes the
///   Llama-family q/k weights so that this layout reproduces Hugging Face's results.
/// - `.splitHalf`: pairs (i, i + d/2). Hugging Face's `rotate_half`, and llama.cpp's "NeoX" RoPE
///   (used unpermuted for Qwen2, Gemma 3 and every safetensors checkpoint).
public struct RotaryEmbedding: Sendable {
    public enum Layout: Sendable { case interleaved, splitHalf }

    public let layout: Layout
    /// Number of leading dimensions of each head that rotate (usually the whole head).
    public let rotaryDims: Int
    /// inverse frequencies theta^(-2i/d), i in 0..<rotaryDims/2, computed in Float64 and rounded
    /// once, as transformers computes them in float32 from an int64 arange.
    public let inverseFrequencies: [Float]

    public init(layout: Layout, rotaryDims: Int, base: Float, scalingFactor: Float = 1) {
        self.layout = layout
        self.rotaryDims = rotaryDims
        var f = [Float](repeating: 0, count: rotaryDims / 2)
        for i in 0..<rotaryDims / 2 {
            // transformers: 1.0 / (base ** (arange(0, dim, 2, dtype=int64).float() / dim)), in float32.
            let exponent = Float(2 * i) / Float(rotaryDims)
            f[i] = 1 / powf(base, exponent) / scalingFactor
        }
        inverseFrequencies = f
    }

    /// Rotates `heads` heads of width `headDim` for each of `tokens` rows of `x` (row stride
    /// `rowStride` floats), row t at position `positions[t]`.
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, rowStride: Int,
                      heads: Int, headDim: Int, positions: UnsafePointer<Int32>) {
        apply(x, tokens: tokens, rowStride: rowStride, heads: heads, headDim: headDim) { t, _ in positions[t] }
    }

    /// The same with multimodal RoPE: frequency i rotates by the position on axis `axes[i]`
    /// (0 temporal, 1 height, 2 width) of row t (`MultimodalRoPE` builds the table).
    public func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, rowStride: Int, heads: Int, headDim: Int,
                      positions: TokenPositions, offset: Int, axes: [UInt8]) {
        precondition(axes.count == rotaryDims / 2, "M-RoPE axis table has \(axes.count) entries for \(rotaryDims / 2) frequencies")
        positions.temporal.withUnsafeBufferPointer { pt in positions.height.withUnsafeBufferPointer { ph in
            positions.width.withUnsafeBufferPointer { pw in axes.withUnsafeBufferPointer { ax in
                let rows = [pt.baseAddress! + offset, ph.baseAddress! + offset, pw.baseAddress! + offset]
                apply(x, tokens: tokens, rowStride: rowStride, heads: heads, headDim: headDim) { t, i in rows[Int(ax[i])][t] }
            }}
        }}
    }

    /// The rotation itself; `position(t, i)` is the position frequency i of row t turns by.
    @inline(__always)
    private func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, rowStride: Int, heads: Int, headDim: Int,
                       position: (Int, Int) -> Int32) {
        let half = rotaryDims / 2
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * half) { cs in
            let cosv = cs.baseAddress!, sinv = cs.baseAddress! + half
            for t in 0..<tokens {
                for i in 0..<half {
                    // transformers multiplies position by frequency in float32, then cos/sin.
                    let angle = Float(position(t, i)) * inverseFrequencies[i]
                    cosv[i] = cosf(angle); sinv[i] = sinf(angle)
                }
                let row = x + t * rowStride
                for h in 0..<heads {
                    let v = row + h * headDim
                    switch layout {
                    case .interleaved:
                        for i in 0..<half {
                            let a = v[2 * i], b = v[2 * i + 1]
                            v[2 * i] = a * cosv[i] - b * sinv[i]
                            v[2 * i + 1] = a * sinv[i] + b * cosv[i]
                        }
                    case .splitHalf:
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * cosv[i] - b * sinv[i]
                            v[i + half] = b * cosv[i] + a * sinv[i]
                        }
                    }
                }
            }
        }
    }
}
