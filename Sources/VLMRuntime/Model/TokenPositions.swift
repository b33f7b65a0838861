/// Rotary positions of a block of tokens when they are not simply "the next ones in the
/// cache": multimodal RoPE (Qwen2.5-VL, Qwen3-VL) gives every token three ids (temporal,
/// height, width). Text tokens carry one id on all three axes; a visual token its frame-group,
/// row and column offset from where its image starts. After a prompt, decoding continues at
/// `next` (transformers' `rope_deltas` is `next` minus the prompt's length).
public struct TokenPositions: Sendable, Equatable {
    public var temporal: [Int32]
    public var height: [Int32]
    public var width: [Int32]
    /// The position of the first token after these (max over all three axes, plus 1).
    public var next: Int32

    public init(temporal: [Int32], height: [Int32], width: [Int32], next: Int32) {
        precondition(temporal.count == height.count && height.count == width.count, "position rows differ in length")
        self.temporal = temporal; self.height = height; self.width = width; self.next = next
    }

    /// `count` text positions from `start`.
    public static func sequential(start: Int32, count: Int) -> TokenPositions {
        let p = (0..<count).map { start + Int32($0) }
        return TokenPositions(temporal: p, height: p, width: p, next: start + Int32(count))
    }

    public var count: Int { temporal.count }

    /// How far decoding's positions run ahead of (or behind) the cache length after a prompt of
    /// `count` tokens (transformers' `rope_deltas`).
    public var delta: Int { Int(next) - count }
}

/// Rows added to the residual stream after the first layers of a prefill (Qwen3-VL's
/// DeepStack: features from inside the vision tower enter the LLM at the visual positions).
/// After layer l, for l < `layers.count`, row `rows[j]` of the pass gets `layers[l][j]` added.
public struct LayerInjection: Sendable {
    /// Row indices within the pass, one per injected token.
    public var rows: [Int]
    /// Per layer, rows.count x hidden size.
    public var layers: [[Float]]

    public init(rows: [Int], layers: [[Float]]) { self.rows = rows; self.layers = layers }
}

/// Which position axis each rotary frequency turns by under multimodal RoPE, from the
/// checkpoint's `mrope_section` (frequencies per axis: temporal, height, width).
public enum MultimodalRoPE {
    /// Qwen2-VL / Qwen2.5-VL: contiguous sections, e.g. [16, 24, 24] over 64 frequencies.
    public static func contiguousAxes(sections: [Int]) -> [UInt8] {
        sections.enumerated().flatMap { axis, n in [UInt8](repeating: UInt8(axis % 3), count: max(n, 0)) }
    }

    /// Qwen3-VL (`mrope_interleaved`): frequency f turns by height when f = 1 mod 3 and
    /// f < 3 * sections[1], by width when f = 2 mod 3 and f < 3 * sections[2], else by time
    /// (transformers' `recomposition_frequencies` of Qwen3VLTextRotaryEmbedding).
    public static func interleavedAxes(sections: [Int], frequencies: Int) -> [UInt8] {
        var axes = [UInt8](repeating: 0, count: frequencies)
        for (axis, offset) in [(1, 1), (2, 2)] where axis < sections.count {
            var f = offset
            while f < min(3 * sections[axis], frequencies) { axes[f] = UInt8(axis); f += 3 }
        }
        return axes
    }
}
