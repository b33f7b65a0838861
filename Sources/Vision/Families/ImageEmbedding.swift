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
}
