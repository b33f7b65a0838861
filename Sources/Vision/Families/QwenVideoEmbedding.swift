import Prune
import VLMRuntime

/// A video through a Qwen-VL family: frames padded to an even count by repeating the last (the
/// processor fills the 2-frame temporal patch so), each pair encoded as one frame-group and
/// merged to the LLM's tokens. An image reducer reduces each group's merged grid on its own; a
/// temporal reducer (DyCoke) merges across groups. Kept tokens keep their grid positions and
/// frame-group; the family lays them out as position runs (`videoRuns`).
enum QwenVideoEmbedding {
    /// The tower reading frames `index` and `second` as one temporal patch, as an encoder.
    final class FramePair: VisionEncoder, @unchecked Sendable {
        let tower: QwenVisionTower, second: Int
        init(_ tower: QwenVisionTower, second: Int) { self.tower = tower; self.second = second }
        var hiddenSize: Int { tower.hiddenSize }
        var layerCount: Int { tower.layerCount }
        var patchSize: Int { tower.patchSize }
        var hasClassToken: Bool { false }
        func encode(_ pixels: PixelBatch, index: Int, request: EncoderRequest) throws -> EncoderOutput {
            try tower.encode(pixels, frames: (index, second), request: request)
        }
    }

    static func embed(_ frames: PixelBatch, family: Qwen2_5_VLFamily, model: VisionLanguageModel,
                      reduction: TokenReduction?, frameSeconds: [Double]?) throws -> ImageEmbedding {
        guard frames.count > 0 else { throw VLMError.badInput("a video of no frames") }
        let d = model.language.decoder.config.hiddenSize, tp = family.tower.config.temporalPatchSize
        let groups = (frames.count + tp - 1) / tp
        let imageReduction = reduction?.reducer == nil ? nil : reduction
        var pieces: [ReducedPiece] = []
        for g in 0..<groups {
            let pair = FramePair(family.tower, second: min(g * tp + tp - 1, frames.count - 1))
            pieces.append(try VisionLanguageModel.encodePiece(frames, index: g * tp, encoder: pair, request: family.featureRequest,
                                                               reduction: imageReduction, keepsClassToken: false, projector: nil,
                                                               connector: family.merger))
        }
        let gridRows = pieces[0].gridRows, gridCols = pieces[0].gridCols, perGroup = gridRows * gridCols
        var rows: [Float] = [], companions = [[Float]](repeating: [], count: pieces[0].companions.count)
        var kept: [[Int]] = [], reduceSeconds = pieces.reduce(0) { $0 + $1.reduceSeconds }
        if let temporal = reduction?.temporal {
            let t0 = ProcessStats.now
            let merged = temporal.mergeFrames(pieces.flatMap(\.rows), frames: groups, tokensPerFrame: perGroup, width: d)
            reduceSeconds += ProcessStats.now - t0
            rows = merged.rows
            kept = merged.kept
            for (g, piece) in pieces.enumerated() {
                for l in companions.indices { companions[l] += merged.kept[g].flatMap { piece.companions[l][($0 * d)..<(($0 + 1) * d)] } }
            }
        } else {
            for piece in pieces {
                let (r, c, positions) = Qwen2_5_VLFamily.rasterOrder(piece, width: d)
                rows += r
                for l in companions.indices { companions[l] += c[l] }
                kept.append(positions)
            }
        }
        var e = ImageEmbedding(rows: rows, count: rows.count / d, tileCounts: kept.map(\.count), layout: .single,
                               visualBefore: perGroup * groups)
        e.isVideo = true
        e.reduceSeconds = reduceSeconds
        e.companions = companions
        // The frames' rate from their times (the sampling rate for a file), else the family's default;
        // each group's time is the mean of its first and last frame's (transformers' `_calculate_timestamps`).
        let times = frameSeconds?.count == frames.count ? frameSeconds! : frames.count.indices(rate: type(of: family).defaultFramesPerSecond)
        let fps = times.count > 1 && times.last! > times.first! ? Double(times.count - 1) / (times.last! - times.first!)
            : type(of: family).defaultFramesPerSecond
        e.groupSeconds = (0..<groups).map { g in (times[g * tp] + times[min(g * tp + tp - 1, times.count - 1)]) / 2 }
        e.positionRuns = family.videoRuns(groups: kept, gridRows: gridRows, gridCols: gridCols, framesPerSecond: fps)
        e.keptMaps = kept.map { KeptPatchMap(gridRows: gridRows, gridCols: gridCols, kept: $0, merged: []) }
        return e
    }
}

private extension Int {
    /// Times of this many frames at `rate` per second from 0.
    func indices(rate: Double) -> [Double] { (0..<self).map { Double($0) / rate } }
}
