import Foundation
import Prune
import VLMRuntime

/// LLaVA-NeXT (`LlavaNextForConditionalGeneration`): AnyRes. The processor gives a base image
/// (the whole picture at the encoder's size) and a grid of crops of the best-fit resolution;
/// the crops' tokens are stitched into one grid, the AnyRes padding cut away ("unpadding"),
/// and an `image_newline` token ends each row; the base image's tokens come first. Reduced
/// crops keep their surviving tokens in raster order, with the newline of each row that
/// keeps any (AnyResPacking). GlobalCom2 guides each crop from the base image.
class LLaVANextFamily: LLaVAFamily {
    override class var modelTypes: [String] { ["llava_next"] }

    override class func check(_ config: VLMConfig, source: String) throws {
        try FamilyChecks.refuseFeatureExtras(config, source: source)
        let pinpoints = (config.json["image_grid_pinpoints"] as? [[NSNumber]] ?? []).filter { $0.count == 2 }
        if pinpoints.isEmpty { throw VLMError.badInput("\(source): image_grid_pinpoints is missing") }
    }

    /// An AnyRes grid over a CLIP tower (LLaVA-OneVision's is SigLIP, without a class token).
    override class func readsMMProj(_ m: MMProjFile) -> Bool { m.projectorType == "mlp" && m.hasAnyResGrid && m.contains("v.class_embd") }

    /// LLaVA-1.5's layout plus `clip.vision.image_grid_pinpoints` (flat height, width pairs)
    /// and `model.image_newline`; the processor is LlavaNextImageProcessor over those grids.
    override class func mmprojLayout(_ m: MMProjFile, language: LanguageModel) throws -> MMProjLayout {
        var layout = try super.mmprojLayout(m, language: language)
        let flat = try m.file.intArrayIfPresent("clip.vision.image_grid_pinpoints") ?? []
        guard flat.count >= 2, flat.count % 2 == 0, flat.allSatisfy({ $0 > 0 && $0 <= MMProjFile.limits.imageSize }) else {
            throw VLMError.badInput("\(m.path): clip.vision.image_grid_pinpoints \(flat.prefix(8)) is not a list of height, width pairs")
        }
        let pinpoints = stride(from: 0, to: flat.count, by: 2).map { [flat[$0], flat[$0 + 1]] }
        layout.config["image_grid_pinpoints"] = pinpoints
        layout.preprocessor["image_processor_type"] = "LlavaNextImageProcessor"
        layout.preprocessor["image_grid_pinpoints"] = pinpoints
        return layout
    }

    let imageNewline: [Float]

    required init(config: VLMConfig, checkpoint ck: TensorCheckpoint, encoder: any VisionEncoder, textHiddenSize: Int,
                  directory: String) throws {
        guard let name = ["image_newline", "model.image_newline"].first(where: ck.contains) else {
            throw VLMError.badInput("\(directory): image_newline is missing")
        }
        imageNewline = try ck.floats(named: name)
        try super.init(config: config, checkpoint: ck, encoder: encoder, textHiddenSize: textHiddenSize, directory: directory)
    }

    /// anyres_max_N's N (LLaVA-OneVision); nil: plain AnyRes.
    var maxAnyResPatches: Int? { nil }

    /// GlobalCom2's guidance for AnyRes crop `crop`, from the base image's (thumbnail's) scores;
    /// crop tokens in the AnyRes padding are marked invalid.
    override func cropGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction) throws -> ThumbnailGuidance? {
        guard let reducer = reduction.reducer, let scores = base.scores, case .anyRes(let rows, let cols, _, _) = image.layout else { return nil }
        let side = base.gridRows, n = side * side
        let retention = Float(try reduction.tokens(of: n)) / Float(n)
        guard var g = reducer.cropGuidance(baseScores: scores, side: side, rows: rows, cols: cols, retention: retention)?[crop] else { return nil }
        let region = AnyResPacking.unpaddedRegion(gridH: rows * side, gridW: cols * side, height: image.originalHeight, width: image.originalWidth)
        let r0 = (crop / cols) * side, c0 = (crop % cols) * side
        g.valid = (0..<n).map { p in
            let y = r0 + p / side, x = c0 + p % side
            return y >= region.r0 && y < region.r1 && x >= region.c0 && x < region.c1
        }
        return g
    }

    override func pack(_ image: ProcessedImage, pieces: [ReducedPiece], width dim: Int, reduced: Bool) throws -> ImageEmbedding {
        let fullCount = unreducedCount(image, pieces: pieces)
        guard case .anyRes(let rows, let cols, _, _) = image.layout else {
            // A single image without crops: its tokens plus one newline (transformers' else-branch).
            let rows = pieces[0].rows + imageNewline
            return ImageEmbedding(rows: rows, count: pieces[0].count + 1, tileCounts: [pieces[0].count + 1], layout: image.layout,
                                  visualBefore: fullCount)
        }
        guard pieces.count == rows * cols + 1 else {
            throw VLMError.badInput("AnyRes layout of \(rows)x\(cols) crops does not match \(pieces.count) encoded images")
        }
        let side = pieces[0].gridRows
        if !reduced {
            let packed = AnyResPacking.pack(base: pieces[0].rows, crops: Array(pieces[1...].map(\.rows).joined()), rows: rows, cols: cols,
                                            side: side, dim: dim, originalHeight: image.originalHeight,
                                            originalWidth: image.originalWidth, newline: imageNewline, maxPatches: maxAnyResPatches)
            return ImageEmbedding(rows: packed.features, count: packed.count, tileCounts: [packed.count], layout: image.layout,
                                  visualBefore: packed.count)
        }
        let packed = AnyResPacking.packReduced(pieces: pieces, rows: rows, cols: cols, side: side, dim: dim,
                                               originalHeight: image.originalHeight, originalWidth: image.originalWidth,
                                               newline: imageNewline)
        return ImageEmbedding(rows: packed.features, count: packed.count, tileCounts: [packed.count], layout: image.layout,
                              visualBefore: fullCount)
    }

    /// Visual tokens of `image` with no reducer (what `visual_before` reports).
    func unreducedCount(_ image: ProcessedImage, pieces: [ReducedPiece]) -> Int {
        guard case .anyRes(let rows, let cols, _, _) = image.layout else { return pieces[0].fullCount + 1 }
        let side = pieces[0].gridRows
        let region = AnyResPacking.unpaddedRegion(gridH: rows * side, gridW: cols * side, height: image.originalHeight,
                                                  width: image.originalWidth)
        var h = region.r1 - region.r0, w = region.c1 - region.c0
        if let maxPatches = maxAnyResPatches {
            let ratio = (Double(h * w) / Double(maxPatches * side * side)).squareRoot()
            if ratio > 1.1 { h = Int((Double(h) / ratio).rounded(.down)); w = Int((Double(w) / ratio).rounded(.down)) }
        }
        return pieces[0].fullCount + h * (w + 1)
    }

    override func videoFrameTokens(_ frame: ReducedPiece, width: Int) throws -> (rows: [Float], side: Int) {
        throw VLMError.unsupported("video input is implemented for LLaVA and LLaVA-OneVision models (this is \(config.modelType))")
    }
}
