import VLMRuntime

/// A connector that merges encoder patches into fewer, wider LLM tokens before any reducer
/// sees them (Idefics3's pixel shuffle, Qwen-VL's 2x2 patch merger), so reducers work on the
/// tokens the LLM reads, on the merged grid.
protocol PatchConnector {
    /// Patches per side of one merged token.
    var scale: Int { get }
    /// The width of the rows it makes: the LLM's hidden size when the parts belong together.
    var outputWidth: Int { get }
    /// The encoder's gridRows x gridCols patch rows (raster, `dim` wide; `output` for taps the
    /// connector reads) as (gridRows / scale) x (gridCols / scale) LLM rows in raster order.
    func merge(_ output: EncoderOutput, patches: [Float], dim: Int) throws -> MergedPatches
}

/// A connector's output for one encoder image.
struct MergedPatches {
    /// count x LLM width, raster order on the merged grid.
    var rows: [Float]
    /// Rows that go with each token into the LLM apart from its input (Qwen3-VL's DeepStack
    /// levels, each count x LLM width); empty for other connectors.
    var companions: [[Float]] = []
}

extension PixelShuffleConnector: PatchConnector {
    var outputWidth: Int { projection.outFeatures }
    func merge(_ output: EncoderOutput, patches: [Float], dim: Int) throws -> MergedPatches {
        MergedPatches(rows: try self(patches, tokens: output.gridRows * output.gridCols, dim: dim))
    }
}
