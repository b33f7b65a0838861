import Foundation
import VLMRuntime

/// The shape of Qwen2.5-VL's and Qwen3-VL's vision towers (`vision_config`), with transformers'
/// class defaults for keys a config omits. The two towers share patch embedding over 2-frame
/// temporal patches, 2-D rotary positions and the 2x2 patch merger; they differ in what the
/// switches below say.
public struct QwenVisionConfig: Sendable {
    public enum Variant: String, Sendable {
        /// RMSNorm blocks, SwiGLU MLP, window attention with full-attention blocks, no position table.
        case qwen2_5
        /// LayerNorm blocks, GELU MLP, full attention, a learned position table, DeepStack taps.
        case qwen3
    }

    public var variant: Variant
    public var hiddenSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var patchSize: Int
    public var mergeSize: Int
    public var temporalPatchSize: Int
    public var outHiddenSize: Int
    public var activation: Activation
    /// Qwen2.5-VL: window side in pixels, and the blocks that attend over the whole image.
    public var windowSize: Int
    public var fullAttentionBlocks: Set<Int>
    /// Qwen3-VL: entries of the learned position table (a square grid), and the blocks whose
    /// outputs feed the DeepStack mergers.
    public var positionEmbeddings: Int
    public var deepstackLayers: [Int]
    public var ropeTheta: Float = 10000
    public var normEps: Float = 1e-6

    public var headDim: Int { hiddenSize / headCount }
    /// Values in one patch row: channels x temporal patch x patch x patch.
    public var patchValues: Int { 3 * temporalPatchSize * patchSize * patchSize }

    public init(json j: [String: Any], variant: Variant, source: String) throws {
        func int(_ key: String, _ fallback: Int) -> Int { (j[key] as? NSNumber)?.intValue ?? fallback }
        self.variant = variant
        let qwen3 = variant == .qwen3
        hiddenSize = int("hidden_size", qwen3 ? 1152 : 3584)
        layerCount = int("depth", qwen3 ? 27 : 32)
        headCount = int("num_heads", 16)
        intermediateSize = int("intermediate_size", qwen3 ? 4304 : 3420)
        patchSize = int("patch_size", qwen3 ? 16 : 14)
        mergeSize = int("spatial_merge_size", 2)
        temporalPatchSize = int("temporal_patch_size", 2)
        outHiddenSize = int("out_hidden_size", 3584)
        windowSize = int("window_size", 112)
        fullAttentionBlocks = Set((j["fullatt_block_indexes"] as? [NSNumber])?.map(\.intValue) ?? (qwen3 ? [] : [7, 15, 23, 31]))
        positionEmbeddings = int("num_position_embeddings", 2304)
        deepstackLayers = (j["deepstack_visual_indexes"] as? [NSNumber])?.map(\.intValue) ?? (qwen3 ? [8, 16, 24] : [])
        if let rope = (j["rope_parameters"] as? [String: Any])?["rope_theta"] as? NSNumber { ropeTheta = rope.floatValue }
        let act = j["hidden_act"] as? String ?? (qwen3 ? "gelu_pytorch_tanh" : "silu")
        guard let activation = Activation(huggingFaceName: act) else { throw VLMError.unsupported("\(source): vision hidden_act '\(act)'") }
        self.activation = activation
        func need(_ ok: Bool, _ what: String) throws { if !ok { throw VLMError.badInput("\(source): \(what)") } }
        try need(hiddenSize > 0 && hiddenSize <= 16384 && headCount > 0 && hiddenSize % headCount == 0,
                 "vision hidden_size \(hiddenSize) and num_heads \(headCount) do not fit")
        try need(headDim % 4 == 0, "vision head dim \(headDim) is not a multiple of 4 (2-D rotary positions)")
        try need(layerCount > 0 && layerCount <= 256, "vision depth \(layerCount) out of range")
        try need(intermediateSize > 0 && intermediateSize <= 1 << 18, "vision intermediate_size \(intermediateSize) out of range")
        try need(patchSize > 0 && patchSize <= 64 && mergeSize > 0 && mergeSize <= 8 && temporalPatchSize > 0 && temporalPatchSize <= 4,
                 "vision patch/merge/temporal sizes \(patchSize)/\(mergeSize)/\(temporalPatchSize) out of range")
        try need(outHiddenSize > 0 && outHiddenSize <= 65536, "out_hidden_size \(outHiddenSize) out of range")
        try need(!qwen3 || deepstackLayers.allSatisfy { (0..<layerCount).contains($0) }, "deepstack_visual_indexes outside the \(layerCount) blocks")
        try need(qwen3 || windowSize >= patchSize * mergeSize, "window_size \(windowSize) is smaller than one merged patch")
        let side = Int(Double(positionEmbeddings).squareRoot())
        try need(!qwen3 || (side * side == positionEmbeddings && side > 0), "num_position_embeddings \(positionEmbeddings) is not a square")
    }

    /// Whether block `layer` attends within windows (Qwen2.5-VL's other blocks) or over the frame.
    public func isWindowed(_ layer: Int) -> Bool { variant == .qwen2_5 && !fullAttentionBlocks.contains(layer) }
}

/// The order the tower processes one frame-group's patches in, and its attention segments.
///
/// transformers lists patches merge block by merge block (2x2 patches that become one LLM
/// token) and, for Qwen2.5-VL, reorders the blocks window by window (`get_window_index`:
/// windows of `window_size / merge / patch` merged cells, the merged grid padded up to whole
/// windows, padding dropped). Window blocks attend within each window, full blocks over the
/// frame-group. Attention inside a segment does not depend on the order of its rows, so only
/// the segments matter for the result; the order is kept as transformers' anyway.
struct QwenPatchOrder {
    /// Raster patch index (row * gridCols + col) of each processed row.
    let order: [Int]
    /// Windows as ranges of processed rows (one range covering all rows without windows).
    let windows: [Range<Int>]

    init(gridRows: Int, gridCols: Int, merge m: Int, windowCells: Int?) {
        let cellRows = gridRows / m, cellCols = gridCols / m
        var order: [Int] = []
        order.reserveCapacity(gridRows * gridCols)
        var windows: [Range<Int>] = []
        func appendCell(_ cy: Int, _ cx: Int) {
            for iy in 0..<m { for ix in 0..<m { order.append((cy * m + iy) * gridCols + cx * m + ix) } }
        }
        if let w = windowCells {
            // transformers pads by a whole extra window when the grid is already a multiple.
            let rowsPadded = cellRows + (w - cellRows % w), colsPadded = cellCols + (w - cellCols % w)
            for wy in 0..<(rowsPadded / w) { for wx in 0..<(colsPadded / w) {
                let start = order.count
                for cy in (wy * w)..<min((wy + 1) * w, cellRows) {
                    for cx in (wx * w)..<min((wx + 1) * w, cellCols) { appendCell(cy, cx) }
                }
                if order.count > start { windows.append(start..<order.count) }
            }}
        } else {
            for cy in 0..<cellRows { for cx in 0..<cellCols { appendCell(cy, cx) } }
            windows = [0..<order.count]
        }
        self.order = order
        self.windows = windows
    }
}
