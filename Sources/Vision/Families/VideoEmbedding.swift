import Prune
import VLMRuntime

extension VisionLanguageModel {
    /// Video frames (each already at the encoder's input size) as the family reads them: each
    /// frame's tokens (`VLMFamily.videoFrameTokens`: LLaVA-OneVision pools them 2x2), all frames
    /// in order, then the family's suffix (OneVision's image_newline). A temporal reducer
    /// (DyCoke) merges across frames; an image reducer reduces each frame's grid on its own.
    /// `frameSeconds`: the frames' times, for families that place video in time (Qwen-VL).
    public func embedVideo(_ frames: PixelBatch, reduction: TokenReduction? = nil, frameSeconds: [Double]? = nil) throws -> ImageEmbedding {
        if let own = try family.embedVideo(frames, in: self, reduction: reduction, frameSeconds: frameSeconds) { return own }
        let d = language.decoder.config.hiddenSize
        var frameRows: [Float] = [], perFrame = 0, side = 0
        for i in 0..<frames.count {
            let full = try encodePiece(frames, index: i, reduction: nil)
            let tokens = try family.videoFrameTokens(full, width: d)
            frameRows += tokens.rows; perFrame = tokens.rows.count / d; side = tokens.side
        }
        let cols = perFrame / max(side, 1)
        var rows: [Float] = [], reduceSeconds = 0.0, keptMaps: [KeptPatchMap] = []
        var before = perFrame * frames.count
        if let temporal = reduction?.temporal {
            let t0 = ProcessStats.now
            let merged = temporal.mergeFrames(frameRows, frames: frames.count, tokensPerFrame: perFrame, width: d)
            reduceSeconds = ProcessStats.now - t0
            rows = merged.rows
            keptMaps = merged.kept.map { KeptPatchMap(gridRows: side, gridCols: cols, kept: $0, merged: []) }
        } else if let reduction, let reducer = reduction.reducer {
            // A per-image reducer sees each frame's grid, as the LLM would.
            for f in 0..<frames.count {
                let slice = Array(frameRows[(f * perFrame * d)..<((f + 1) * perFrame * d)])
                let t0 = ProcessStats.now
                let tokens = TokenMatrix(values: slice, count: perFrame, width: d)
                let result = try reducer.reduce(ReductionInput(tokens: tokens, gridRows: side, gridCols: cols, projected: tokens),
                                                budget: try reduction.tokens(of: perFrame))
                reduceSeconds += ProcessStats.now - t0
                rows += result.kept.flatMap { slice[($0 * d)..<(($0 + 1) * d)] } + result.merged
                keptMaps.append(KeptPatchMap(gridRows: side, gridCols: cols, kept: result.kept, merged: result.mergedAnchors))
            }
        } else {
            rows = frameRows
        }
        var isVideo = false
        if let suffix = family.videoSuffix {
            rows += suffix
            before += suffix.count / d
            isVideo = true
        }
        var e = ImageEmbedding(rows: rows, count: rows.count / d, tileCounts: [rows.count / d], layout: .single, visualBefore: before)
        e.reduceSeconds = reduceSeconds
        e.keptMaps = keptMaps
        e.isVideo = isVideo
        return e
    }
}
