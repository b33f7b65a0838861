#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Storage shared by the grouped formats. Per layer: an attention sink of the first `sink`
/// tokens (32 by default, or none) kept in Float16, the quantized groups (the next 32*groups
/// positions), then a residual buffer of the most recent tokens in Float16 (the precision of
/// the default f16 cache, so a residual token costs what it costs there). After an append, whole
/// groups of 32 leave the residual, oldest first, while it holds at least `residual + 32` tokens:
/// the most recent `residual` tokens are always unquantized. Groups therefore always start at
/// multiples of 32.
///
/// Why the sink: the first tokens of a sequence draw a large share of every head's attention
/// (the "attention sink" of StreamingLLM) and their keys carry outlier values; quantized in a
/// group they both lose precision themselves and widen the per-channel range of the 31 tokens
/// grouped with them. One Float16 group costs 32 tokens' worth of f16 however long the cache
/// grows (0.4% of the f16 size at 8,192 tokens). The sink is filled as soon as 32 tokens are
/// cached, before any group is quantized.
///
/// `truncate` drops whole groups; a truncation point inside a quantized group dequantizes that
/// group's kept tokens back into the residual (re-quantized later, with the group they join,
/// when they leave it again).
final class GroupedStore<C: GroupCodec>: PackedStore {
    static var groupSize: Int { 32 }

    final class Layer {
        var groups = 0
        let keyBlocks = GrowableBuffer<UInt8>(), valueBlocks = GrowableBuffer<UInt8>()
        let residualKeys = GrowableBuffer<Float16>(), residualValues = GrowableBuffer<Float16>()
        /// The attention sink's rows (0 or `sink` of them).
        let sinkKeys = GrowableBuffer<Float16>(), sinkValues = GrowableBuffer<Float16>()
        /// Per group (formats with protection only): which of its 32 tokens are protected, and
        /// the index of its first protected row in `protectedRows`.
        let masks = GrowableBuffer<UInt32>(), starts = GrowableBuffer<Int32>()
        let protectedRows = GrowableBuffer<UInt8>()
        let fresh = FreshRows()
    }

    let shape: KVCacheShape
    let codec: C
    let residual: Int
    /// Leading tokens kept in Float16 (a multiple of 32).
    let sink: Int
    let layers: [Layer]
    /// Token positions (all layers) whose values a protecting format keeps at higher precision.
    var protected = Set<Int>()

    init(shape: KVCacheShape, codec: C, residual: Int, sink: Int = 0) {
        precondition(GroupedStore.groupSize == PackedAttention.tile)
        precondition(sink >= 0 && sink % GroupedStore.groupSize == 0, "the sink is whole groups")
        self.shape = shape
        self.codec = codec
        self.residual = max(0, residual)
        self.sink = sink
        layers = (0..<shape.layers).map { _ in Layer() }
    }

    private var protects: Bool { codec.protectedRowBytes > 0 }
    /// Bytes of one protected token (all kv heads).
    private var protectedStride: Int { codec.protectedRowBytes * shape.kvHeads }

    func residualCount(layer: Int) -> Int { layers[layer].residualKeys.count / shape.kvWidth }
    func sinkCount(layer: Int) -> Int { layers[layer].sinkKeys.count / shape.kvWidth }
    func quantizedCount(layer: Int) -> Int { layers[layer].groups * Self.groupSize }
    func count(layer: Int) -> Int { sinkCount(layer: layer) + quantizedCount(layer: layer) + residualCount(layer: layer) }

    /// Sink + packed blocks + per-group protection bookkeeping + protected rows + the residual.
    var storedBytes: Int {
        var total = 0
        for l in layers {
            total += l.groups * shape.kvHeads * (codec.keyBlockBytes + codec.valueBlockBytes)
            if protects { total += l.groups * (4 + 4) + l.protectedRows.count }
            total += (l.residualKeys.count + l.residualValues.count + l.sinkKeys.count + l.sinkValues.count)
                * MemoryLayout<Float16>.stride
        }
        return total
    }

    func append(layer: Int, keys newKeys: UnsafePointer<Float>, values newValues: UnsafePointer<Float>,
                tokens: Int) throws {
        let old = count(layer: layer)
        guard old + tokens <= shape.capacity else {
            throw VLMError.usage("the sequence needs \(old + tokens) tokens, over the context limit of \(shape.capacity)")
        }
        let L = layers[layer], n = tokens * shape.kvWidth
        L.fresh.set(start: old, keys: newKeys, values: newValues, tokens: tokens, width: shape.kvWidth)
        Float16.store(newKeys, L.residualKeys.extend(by: n), count: n)
        Float16.store(newValues, L.residualValues.extend(by: n), count: n)
        flush(L)
    }

    /// Fills the sink from the residual's first rows once they are there, then quantizes the
    /// oldest whole groups of the residual while it holds `residual + 32` tokens.
    private func flush(_ L: Layer) {
        let G = Self.groupSize, kvw = shape.kvWidth, hd = shape.headDim, heads = shape.kvHeads
        if L.sinkKeys.count < sink * kvw {
            guard L.residualKeys.count >= sink * kvw else { return }
            let n = sink * kvw
            L.sinkKeys.extend(by: n).update(from: L.residualKeys.base, count: n)
            L.sinkValues.extend(by: n).update(from: L.residualValues.base, count: n)
            dropResidualRows(L, count: n)
        }
        let rows = L.residualKeys.count / kvw
        guard rows >= residual + G else { return }
        let ng = (rows - residual) / G
        let first = L.groups
        let kbb = codec.keyBlockBytes, vbb = codec.valueBlockBytes, prb = codec.protectedRowBytes
        let pStride = protectedStride
        let kb = UnsafeMutableRawPointer(L.keyBlocks.extend(by: ng * heads * kbb))
        let vb = UnsafeMutableRawPointer(L.valueBlocks.extend(by: ng * heads * vbb))
        // Protection bookkeeping first (sequential), so the groups can be packed in parallel.
        var maskBase: UnsafeMutablePointer<UInt32>? = nil, startBase: UnsafeMutablePointer<Int32>? = nil
        var protBase: UnsafeMutableRawPointer? = nil
        if protects {
            let masks = L.masks.extend(by: ng), starts = L.starts.extend(by: ng)
            var next = L.protectedRows.count / pStride
            for g in 0..<ng {
                var mask: UInt32 = 0
                if !protected.isEmpty {
                    for i in 0..<G where protected.contains(sink + (first + g) * G + i) { mask |= 1 << UInt32(i) }
                }
                masks[g] = mask
                starts[g] = Int32(next)
                next += mask.nonzeroBitCount
            }
            let added = next - L.protectedRows.count / pStride
            _ = L.protectedRows.extend(by: added * pStride)
            maskBase = masks; startBase = starts
            protBase = UnsafeMutableRawPointer(L.protectedRows.base)
        }
        let rk = UnsafePointer(L.residualKeys.base), rv = UnsafePointer(L.residualValues.base)
        let codec = self.codec
        Parallel.forRange(ng) { s, e in
            let kx = UnsafeMutablePointer<Float>.allocate(capacity: G * kvw)
            let vx = UnsafeMutablePointer<Float>.allocate(capacity: G * kvw)
            defer { kx.deallocate(); vx.deallocate() }
            for g in s..<e {
                Float16.load(rk + g * G * kvw, kx, count: G * kvw)
                Float16.load(rv + g * G * kvw, vx, count: G * kvw)
                let mask = maskBase?[g] ?? 0
                let prot = protBase.map { $0 + Int(startBase![g]) * pStride }
                for h in 0..<heads {
                    let block = g * heads + h
                    codec.encodeKeys(kx + h * hd, stride: kvw, to: kb + block * kbb)
                    codec.encodeValues(vx + h * hd, stride: kvw, protectedMask: mask, to: vb + block * vbb,
                                       protectedRows: prot.map { $0 + h * prb }, protectedStride: pStride)
                }
            }
        }
        L.groups += ng
        dropResidualRows(L, count: ng * G * kvw)
    }

    /// Removes the first `count` elements (whole rows) of the residual keys and values.
    private func dropResidualRows(_ L: Layer, count drop: Int) {
        let keep = L.residualKeys.count - drop
        memmove(L.residualKeys.base, L.residualKeys.base + drop, keep * MemoryLayout<Float16>.stride)
        memmove(L.residualValues.base, L.residualValues.base + drop, keep * MemoryLayout<Float16>.stride)
        L.residualKeys.shrink(to: keep)
        L.residualValues.shrink(to: keep)
    }

    func truncate(to position: Int) {
        let G = Self.groupSize, kvw = shape.kvWidth
        let p = max(0, position)
        for (index, L) in layers.enumerated() {
            L.fresh.clear()
            let s = sinkCount(layer: index), q = s + L.groups * G
            if p >= count(layer: index) { continue }
            if p >= q {
                L.residualKeys.shrink(to: (p - q) * kvw)
                L.residualValues.shrink(to: (p - q) * kvw)
                continue
            }
            if p < s {
                // Cut inside the sink: its kept rows go back to the residual (the sink refills
                // from there), and every group goes.
                L.residualKeys.shrink(to: 0)
                L.residualValues.shrink(to: 0)
                L.residualKeys.extend(by: p * kvw).update(from: L.sinkKeys.base, count: p * kvw)
                L.residualValues.extend(by: p * kvw).update(from: L.sinkValues.base, count: p * kvw)
                L.sinkKeys.shrink(to: 0)
                L.sinkValues.shrink(to: 0)
                L.keyBlocks.shrink(to: 0)
                L.valueBlocks.shrink(to: 0)
                L.protectedRows.shrink(to: 0)
                L.masks.shrink(to: 0)
                L.starts.shrink(to: 0)
                L.groups = 0
                continue
            }
            let g = (p - s) / G, r = (p - s) % G
            L.residualKeys.shrink(to: 0)
            L.residualValues.shrink(to: 0)
            if r > 0 {
                let kx = UnsafeMutablePointer<Float>.allocate(capacity: G * kvw)
                let vx = UnsafeMutablePointer<Float>.allocate(capacity: G * kvw)
                defer { kx.deallocate(); vx.deallocate() }
                decodeGroup(L, g, keys: kx, values: vx)
                Float16.store(kx, L.residualKeys.extend(by: r * kvw), count: r * kvw)
                Float16.store(vx, L.residualValues.extend(by: r * kvw), count: r * kvw)
            }
            L.keyBlocks.shrink(to: g * shape.kvHeads * codec.keyBlockBytes)
            L.valueBlocks.shrink(to: g * shape.kvHeads * codec.valueBlockBytes)
            if protects {
                L.protectedRows.shrink(to: Int(L.starts.base[g]) * protectedStride)
                L.masks.shrink(to: g)
                L.starts.shrink(to: g)
            }
            L.groups = g
        }
    }

    /// Group `g` of a layer, dequantized to channel order: 32 rows of `kvWidth` keys and values.
    private func decodeGroup(_ L: Layer, _ g: Int, keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        let G = Self.groupSize, hd = shape.headDim, kvw = shape.kvWidth, heads = shape.kvHeads
        let source = tileSource(L)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: G * hd)
        defer { tmp.deallocate() }
        for h in 0..<heads {
            codec.decodeKeysToChannels(source.keyBlock(g, h), count: G, into: tmp)
            for t in 0..<G { (keys + t * kvw + h * hd).update(from: tmp + t * hd, count: hd) }
            source.loadValues(kvHead: h, start: source.sink + g * G, count: G, into: tmp)
            for t in 0..<G { (values + t * kvw + h * hd).update(from: tmp + t * hd, count: hd) }
        }
    }

    private func tileSource(_ L: Layer) -> GroupTileSource<C> {
        GroupTileSource(codec: codec, keyBlocks: UnsafeRawPointer(L.keyBlocks.base),
                        valueBlocks: UnsafeRawPointer(L.valueBlocks.base),
                        residualKeys: UnsafePointer(L.residualKeys.base), residualValues: UnsafePointer(L.residualValues.base),
                        sinkKeys: UnsafePointer(L.sinkKeys.base), sinkValues: UnsafePointer(L.sinkValues.base),
                        sink: L.sinkKeys.count / shape.kvWidth,
                        masks: protects ? UnsafePointer(L.masks.base) : nil,
                        starts: protects ? UnsafePointer(L.starts.base) : nil,
                        protectedRows: protects ? UnsafeRawPointer(L.protectedRows.base) : nil,
                        quantized: L.groups * Self.groupSize, kvHeads: shape.kvHeads, headDim: shape.headDim,
                        protectedStride: protectedStride)
    }

    func attend(layer: Int, queries: UnsafePointer<Float>, tokens: Int, scale: Float, mask: AttentionMask,
                output: UnsafeMutablePointer<Float>) {
        layers[layer].fresh.attend(tileSource(layers[layer]), shape: shape, cached: count(layer: layer), queries: queries,
                                   tokens: tokens, scale: scale, mask: mask, output: output)
    }

    /// The dequantized key and value rows (`kvWidth` floats each, channel order) of one cached
    /// token (tests; and what `truncate` keeps of a cut group).
    func reconstruct(layer: Int, position: Int, keys k: UnsafeMutablePointer<Float>, values v: UnsafeMutablePointer<Float>) {
        let L = layers[layer], G = Self.groupSize, kvw = shape.kvWidth
        let s = sinkCount(layer: layer), q = s + L.groups * G
        if position < s {
            Float16.load(L.sinkKeys.base + position * kvw, k, count: kvw)
            Float16.load(L.sinkValues.base + position * kvw, v, count: kvw)
            return
        }
        if position >= q {
            Float16.load(L.residualKeys.base + (position - q) * kvw, k, count: kvw)
            Float16.load(L.residualValues.base + (position - q) * kvw, v, count: kvw)
            return
        }
        let kx = UnsafeMutablePointer<Float>.allocate(capacity: G * kvw)
        let vx = UnsafeMutablePointer<Float>.allocate(capacity: G * kvw)
        defer { kx.deallocate(); vx.deallocate() }
        decodeGroup(L, (position - s) / G, keys: kx, values: vx)
        k.update(from: kx + ((position - s) % G) * kvw, count: kvw)
        v.update(from: vx + ((position - s) % G) * kvw, count: kvw)
    }

    /// The packed key block of (group, kv head) of a layer (tests).
    func keyBlock(layer: Int, group: Int, kvHead: Int) -> UnsafeRawPointer {
        tileSource(layers[layer]).keyBlock(group, kvHead)
    }
    func valueBlock(layer: Int, group: Int, kvHead: Int) -> UnsafeRawPointer {
        tileSource(layers[layer]).valueBlock(group, kvHead)
    }
    /// The protection mask of a group (0 for formats without protection).
    func protectedMask(layer: Int, group: Int) -> UInt32 { protects ? layers[layer].masks.base[group] : 0 }
}

struct GroupTileSource<C: GroupCodec>: KVTileSource {
    let codec: C
    let keyBlocks: UnsafeRawPointer, valueBlocks: UnsafeRawPointer
    let residualKeys: UnsafePointer<Float16>, residualValues: UnsafePointer<Float16>
    let sinkKeys: UnsafePointer<Float16>, sinkValues: UnsafePointer<Float16>
    /// Positions held by the sink (0 or a multiple of 32).
    let sink: Int
    let masks: UnsafePointer<UInt32>?, starts: UnsafePointer<Int32>?, protectedRows: UnsafeRawPointer?
    /// Positions held by quantized groups (a multiple of 32), after the sink.
    let quantized: Int
    let kvHeads: Int, headDim: Int, protectedStride: Int

    @inline(__always) func keyBlock(_ g: Int, _ h: Int) -> UnsafeRawPointer {
        keyBlocks + (g * kvHeads + h) * codec.keyBlockBytes
    }
    @inline(__always) func valueBlock(_ g: Int, _ h: Int) -> UnsafeRawPointer {
        valueBlocks + (g * kvHeads + h) * codec.valueBlockBytes
    }

    /// Float16 rows `start..<start+count` of one kv head, from the sink or the residual.
    @inline(__always) private func loadRows(_ rows: UnsafePointer<Float16>, kvHead: Int, start: Int, count: Int,
                                            into dst: UnsafeMutablePointer<Float>) {
        let kvw = kvHeads * headDim
        for i in 0..<count { Float16.load(rows + (start + i) * kvw + kvHead * headDim, dst + i * headDim, count: headDim) }
    }

    func loadKeys(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>, queryRows: Int) -> Bool {
        if start < sink {
            loadRows(sinkKeys, kvHead: kvHead, start: start, count: count, into: dst)
            return false
        }
        if start < sink + quantized {
            return codec.decodeKeys(keyBlock((start - sink) / PackedAttention.tile, kvHead), count: count, into: dst, queryRows: queryRows)
        }
        loadRows(residualKeys, kvHead: kvHead, start: start - sink - quantized, count: count, into: dst)
        return false
    }

    func mapQueries(kvHead: Int, start: Int, _ queries: UnsafePointer<Float>, rows: Int, into dst: UnsafeMutablePointer<Float>) {
        codec.mapQueries(keyBlock((start - sink) / PackedAttention.tile, kvHead), queries, rows: rows, into: dst)
    }

    func loadValues(kvHead: Int, start: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        if start < sink {
            loadRows(sinkValues, kvHead: kvHead, start: start, count: count, into: dst)
            return
        }
        if start < sink + quantized {
            let g = (start - sink) / PackedAttention.tile
            let mask = masks?[g] ?? 0
            let prot = protectedRows.map { $0 + Int(starts![g]) * protectedStride + kvHead * codec.protectedRowBytes }
            codec.decodeValues(valueBlock(g, kvHead), count: count, protectedMask: mask, protectedRows: prot,
                               protectedStride: protectedStride, into: dst)
            return
        }
        loadRows(residualValues, kvHead: kvHead, start: start - sink - quantized, count: count, into: dst)
    }
}
