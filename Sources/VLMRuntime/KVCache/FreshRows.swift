/// The keys and values of a packed cache's last append, kept exact (Float32) until the queries
/// of the tokens that appended them have attended: a chunk attends to its own keys and values at
/// full precision, and only what later steps read comes from the packed format.
///
/// Why: that is what KIVI's and VidKV's reference implementations do (the prefill's attention
/// runs on the full-precision key and value states, which are quantized into the cache after);
/// reading the prompt's own keys back through 2 bits inside the prefill would also degrade the
/// hidden states from which every deeper layer's cache entries are computed, so the error would
/// compound through the layers. It costs one layer's append of Float32 rows at a time: the
/// decoder appends a whole forward pass's rows for a layer (`DecoderModel.runLayers`: however
/// many chunks a long prompt spans) and attends right after, and the rows are released then.
final class FreshRows {
    /// Position of the first fresh row.
    private(set) var start = 0
    private(set) var count = 0
    private var keys: [Float] = [], values: [Float] = []

    func set(start: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, tokens: Int, width: Int) {
        self.start = start
        count = tokens
        keys = Array(UnsafeBufferPointer(start: k, count: tokens * width))
        values = Array(UnsafeBufferPointer(start: v, count: tokens * width))
    }

    /// Releases the rows (their memory too).
    func clear() {
        count = 0
        keys = []; values = []
    }

    /// Packed attention over `base` for `tokens` queries at the end of `cached` positions: the
    /// queries' own positions (those of the fresh rows among them) read the fresh rows. The rows
    /// are released once a call has covered the whole appended chunk.
    func attend<S: KVTileSource>(_ base: S, shape: KVCacheShape, cached: Int, queries: UnsafePointer<Float>, tokens: Int,
                                 scale: Float, mask: AttentionMask, output: UnsafeMutablePointer<Float>) {
        let first = max(start, cached - tokens)
        guard count > 0, start + count == cached, first < cached else {
            PackedAttention.run(base, shape: shape, cached: cached, queries: queries, tokens: tokens, scale: scale,
                                mask: mask, output: output)
            return
        }
        keys.withUnsafeBufferPointer { kb in values.withUnsafeBufferPointer { vb in
            let overlay = FreshRowsOverlay(base: base, first: first, rowsStart: start, keys: kb.baseAddress!, values: vb.baseAddress!,
                                           kvWidth: shape.kvWidth, headDim: shape.headDim)
            PackedAttention.run(overlay, shape: shape, cached: cached, queries: queries, tokens: tokens, scale: scale,
                                mask: mask, output: output)
        }}
        if cached - tokens <= start { clear() }
    }
}

/// A packed tile source with positions `first...` read from exact rows instead (see `FreshRows`).
struct FreshRowsOverlay<S: KVTileSource>: KVTileSource {
    let base: S
    /// First position served from `keys` / `values`; row 0 of them is position `rowsStart`.
    let first: Int, rowsStart: Int
    let keys: UnsafePointer<Float>, values: UnsafePointer<Float>
    let kvWidth: Int, headDim: Int

    func loadKeys(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>, queryRows: Int) -> Bool {
        guard start + count > first else {
            return base.loadKeys(kvHead: kvHead, start: start, count: count, into: dst, queryRows: queryRows)
        }
        if start < first {
            // The packed rows before `first` in channel order (a source transforms the tile's
            // keys, not the queries, when more queries than keys read it).
            let mapped = base.loadKeys(kvHead: kvHead, start: start, count: count, into: dst, queryRows: Int.max)
            precondition(!mapped, "a tile source returned a transformed basis for channel-order keys")
        }
        overwrite(dst, from: keys, kvHead: kvHead, start: start, count: count)
        return false
    }

    func mapQueries(kvHead: Int, start: Int, _ queries: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>) {
        base.mapQueries(kvHead: kvHead, start: start, queries, rows: rows, into: dst)
    }

    func loadValues(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        if start < first { base.loadValues(kvHead: kvHead, start: start, count: count, into: dst) }
        if start + count > first { overwrite(dst, from: values, kvHead: kvHead, start: start, count: count) }
    }

    private func overwrite(_ dst: UnsafeMutablePointer<Float>, from rows: UnsafePointer<Float>, kvHead: Int, start: Int, count: Int) {
        for p in max(start, first)..<(start + count) {
            (dst + (p - start) * headDim).update(from: rows + (p - rowsStart) * kvWidth + kvHead * headDim, count: headDim)
        }
    }
}
