import VLMRuntime
import Prune

/// The visual tokens of one image, ready to be spliced into the LLM's input embeddings.
public struct ImageEmbedding: Sendable {
    /// count x LLM hidden size, in the order the image tokens appear in the prompt.
    public var rows: [Float]
    public var count: Int
    /// Tokens of each encoder image (tile, crop or base) for formats that frame tiles with
    /// markers (Idefics3: tiles in raster order, then the global image); one entry otherwise.
    public var tileCounts: [Int]
    /// The tile grid, for Idefics3's row/column markers.
    public var layout: TileLayout
    /// Tokens the model would feed without any reducer.
    public var visualBefore: Int
    /// Seconds spent inside the reducer (part of the encode time).
    public var reduceSeconds: Double = 0
    /// Per encoder image, the patches kept and the anchors of merged tokens (`--show-kept`).
    public var keptMaps: [KeptPatchMap] = []
    /// Video frames (placed at a `<video>` marker with the video token) rather than an image.
    public var isVideo = false
    /// Multimodal RoPE (Qwen-VL): the runs of consecutive visual tokens this media puts in the
    /// prompt, with each token's position offsets; empty for families without it.
    public var positionRuns: [VisualPositionRun] = []
    /// Rows that go with each visual token into the LLM apart from its input (Qwen3-VL's
    /// DeepStack levels, each count x LLM width, in token order); empty for other families.
    public var companions: [[Float]] = []
    /// A video's frame-groups' times in seconds (Qwen3-VL writes them in the prompt).
    public var groupSeconds: [Double] = []
}

/// One run of consecutive visual tokens under multimodal RoPE (an image, or one frame-group of
/// a Qwen3-VL video): each token's offsets from the run's start position on the temporal,
/// height and width axes, and how far the text after the run moves on (transformers 5.23's
/// `get_rope_index`: the larger merged grid side, whatever the temporal extent).
public struct VisualPositionRun: Sendable, Equatable {
    public var temporal: [Int32]
    public var height: [Int32]
    public var width: [Int32]
    public var advance: Int32

    public init(temporal: [Int32], height: [Int32], width: [Int32], advance: Int32) {
        self.temporal = temporal; self.height = height; self.width = width; self.advance = advance
    }

    public var count: Int { temporal.count }
}
