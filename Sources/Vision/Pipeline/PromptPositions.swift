import VLMRuntime

/// The rotary positions and DeepStack rows of a prompt whose LLM uses multimodal RoPE
/// (Qwen2.5-VL, Qwen3-VL), as transformers 5.23's `get_rope_index` numbers them: text tokens
/// count on from the last position on all three axes; each run of visual tokens starts at the
/// current position plus its tokens' offsets (`VisualPositionRun`), and the text after it goes
/// on `advance` later. Runs are taken in order: image-token runs from the images, video-token
/// runs from the videos. A reduced image keeps its tokens' original offsets and its advance,
/// so the text after it sits where it would without the reducer (vLLM's EVS does the same).
enum PromptPositions {
    static func build(ids: [Int32], imageToken: Int32, videoToken: Int32?, media: [ImageEmbedding]) throws -> TokenPositions {
        var imageRuns = media.filter { !$0.isVideo }.flatMap(\.positionRuns)[...]
        var videoRuns = media.filter(\.isVideo).flatMap(\.positionRuns)[...]
        var t: [Int32] = [], h: [Int32] = [], w: [Int32] = []
        t.reserveCapacity(ids.count); h.reserveCapacity(ids.count); w.reserveCapacity(ids.count)
        var current: Int32 = 0, maximum: Int32 = -1
        var i = 0
        while i < ids.count {
            let id = ids[i]
            guard id == imageToken || id == videoToken else {
                t.append(current); h.append(current); w.append(current)
                maximum = max(maximum, current); current += 1; i += 1
                continue
            }
            var end = i
            while end < ids.count && ids[end] == id { end += 1 }
            let isImage = id == imageToken
            guard let run = isImage ? imageRuns.popFirst() : videoRuns.popFirst() else {
                throw VLMError.badInput("the prompt has more \(isImage ? "image" : "video") token runs than the media give")
            }
            guard run.count == end - i else {
                throw VLMError.badInput("a run of \(end - i) \(isImage ? "image" : "video") tokens stands for \(run.count) visual tokens")
            }
            for k in 0..<run.count {
                t.append(current + run.temporal[k]); h.append(current + run.height[k]); w.append(current + run.width[k])
                maximum = max(maximum, t.last!, h.last!, w.last!)
            }
            current += run.advance
            i = end
        }
        guard imageRuns.isEmpty, videoRuns.isEmpty else {
            throw VLMError.badInput("the prompt has fewer visual token runs than the media give")
        }
        return TokenPositions(temporal: t, height: h, width: w, next: maximum + 1)
    }

    /// The maximal runs of consecutive `token` in `ids` (transformers' image groups: each
    /// contiguous run of image tokens is one group).
    static func runs(of token: Int32, in ids: [Int32]) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var i = 0
        while i < ids.count {
            guard ids[i] == token else { i += 1; continue }
            let start = i
            while i < ids.count && ids[i] == token { i += 1 }
            runs.append(start..<i)
        }
        return runs
    }

    /// DeepStack rows for the prompt: the media's companion rows at their visual positions
    /// (images at the image tokens, videos at the video tokens, each in order). nil when no
    /// media has any.
    static func injection(ids: [Int32], imageToken: Int32, videoToken: Int32?, media: [ImageEmbedding]) throws -> LayerInjection? {
        let levels = media.map(\.companions.count).max() ?? 0
        guard levels > 0 else { return nil }
        var rows: [Int] = [], layers = [[Float]](repeating: [], count: levels)
        for (token, items) in [(imageToken, media.filter { !$0.isVideo }), (videoToken, media.filter(\.isVideo))] {
            guard let token else { continue }
            let positions = ids.indices.filter { ids[$0] == token }
            guard positions.count == items.reduce(0, { $0 + $1.count }) else { throw VLMError.badInput("DeepStack rows do not match the visual tokens") }
            rows += positions
            for item in items {
                guard item.companions.count == levels else { throw VLMError.badInput("media differ in their DeepStack levels") }
                for l in 0..<levels { layers[l] += item.companions[l] }
            }
        }
        return LayerInjection(rows: rows, layers: layers)
    }
}
