import Foundation
import Prune
import VLMRuntime

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

/// A loaded vision-language model: image processor, vision encoder, projector and LLM, plus
/// the family's rules for turning encoder outputs into prompt tokens.
public final class VisionLanguageModel {
    public let config: VLMConfig
    public let language: LanguageModel
    public let processor: any ImageProcessor
    public let encoder: any VisionEncoder
    public let promptFormat: VLMPromptFormat
    /// The model directory's name, for result records.
    public let id: String

    let projector: MLPProjector?
    let connector: PixelShuffleConnector?
    let imageNewline: [Float]?
    /// Keep the memory-mapped weights alive.
    private let checkpoint: SafetensorsCheckpoint
    private let visionTowerCheckpoint: SafetensorsCheckpoint?

    /// `path` as written in config.json: absolute, or relative to the model directory.
    static func relative(_ path: String, to directory: String) -> String {
        path.hasPrefix("/") ? path : directory + "/" + path
    }

    public init(directory: String) throws {
        let config = try VLMConfig.load(directory: directory)
        let ck = try SafetensorsCheckpoint(directory: directory)
        self.config = config
        checkpoint = ck
        id = String(directory.split(separator: "/").last ?? Substring(directory))

        let textHiddenSize: Int
        if let file = config.textModelFile {
            // A composed model: the LLM is a GGUF file (weights, tokenizer and chat template).
            language = try LanguageModel.load(path: Self.relative(file, to: directory))
            textHiddenSize = language.decoder.config.hiddenSize
            if case .chatML = language.chatTemplate {
                promptFormat = .chatMLMediaFirst
            } else {
                throw VLMError.unsupported("\(directory): a composed model needs a ChatML LLM (\(file) has another chat template)")
            }
        } else {
            // The LLM: transformers 5 saves `language_model.model.` (LLaVA) or `model.text_model.`
            // (Idefics3); Hub checkpoints also use `model.language_model.`.
            let textPrefixes = ["language_model.model.", "model.language_model.", "model.text_model.", "text_model.model.", "model."]
            guard let textPrefix = textPrefixes.first(where: { ck.contains($0 + "embed_tokens.weight") }) else {
                throw VLMError.badInput("\(directory): no language-model embeddings found (looked for \(textPrefixes.map { $0 + "embed_tokens.weight" }))")
            }
            let headName = ["language_model.lm_head.weight", "lm_head.weight"].first(where: ck.contains) ?? "lm_head.weight"
            let textConfig = try HFDecoderLoader.config(fromJSON: config.textConfig, source: directory + "/config.json (text_config)")
            let decoder = try HFDecoderLoader.load(config: textConfig, checkpoint: ck, prefix: textPrefix, lmHeadName: headName)
            let vocabulary = try TokenizerJSONLoader.load(directory: directory)
            let template = VLMPromptFormat.templateText(directory: directory) ?? vocabulary.chatTemplate
            let (chat, warning) = ChatTemplate.detect(templateString: template, architecture: config.textConfig["model_type"] as? String)
            language = LanguageModel(id: String(directory.split(separator: "/").last ?? Substring(directory)), decoder: decoder,
                                     tokenizer: try makeTokenizer(vocabulary), chatTemplate: chat, templateWarning: warning, source: nil)
            promptFormat = VLMPromptFormat.detect(template: template, architecture: config.architecture)
            textHiddenSize = textConfig.hiddenSize
        }

        if let visionDirectory = config.visionModelDirectory {
            let visionCheckpoint = try SafetensorsCheckpoint(directory: Self.relative(visionDirectory, to: directory))
            visionTowerCheckpoint = visionCheckpoint
            encoder = try VisionTowerLoader.load(checkpoint: visionCheckpoint, visionConfig: config.visionConfig, prefix: "",
                                                 architecture: config.architecture)
        } else {
            let visionPrefixes = ["vision_tower.vision_model.", "model.vision_tower.vision_model.", "vision_tower.",
                                  "model.vision_tower.", "model.vision_model.", "vision_model."]
            let stems = ["embeddings.patch_embedding.weight", "embeddings.patch_embeddings.projection.weight"]
            guard let visionPrefix = visionPrefixes.first(where: { p in stems.contains { ck.contains(p + $0) } }) else {
                throw VLMError.badInput("\(directory): no vision tower found")
            }
            visionTowerCheckpoint = nil
            encoder = try VisionTowerLoader.load(checkpoint: ck, visionConfig: config.visionConfig, prefix: visionPrefix,
                                                 architecture: config.architecture)
        }
        processor = try ImageProcessorFactory.load(directory: directory)

        switch config.architecture {
        case .idefics3:
            let prefix = ["model.connector.", "connector."].first { ck.contains($0 + "modality_projection.proj.weight") } ?? "model.connector."
            connector = try PixelShuffleConnector(checkpoint: ck, prefix: prefix, scale: config.scaleFactor)
            projector = nil
        case .llava, .llavaNext, .llavaOnevision:
            let prefix = ["multi_modal_projector.", "model.multi_modal_projector."].first { ck.contains($0 + "linear_1.weight") } ?? "multi_modal_projector."
            projector = try MLPProjector(checkpoint: ck, prefix: prefix, activation: config.projectorActivation, bias: config.projectorHasBias)
            connector = nil
            guard projector!.outFeatures == textHiddenSize else {
                throw VLMError.badInput("\(directory): projector output \(projector!.outFeatures) != LLM width \(textHiddenSize)")
            }
            let extrasWidth = VisionFeatureExtra.width(of: config.visionFeatureExtras)
            guard projector!.inFeatures == encoder.hiddenSize + extrasWidth else {
                throw VLMError.badInput("\(directory): projector input \(projector!.inFeatures) != vision width \(encoder.hiddenSize)"
                                        + (extrasWidth > 0 ? " + \(extrasWidth) feature extras" : ""))
            }
        }
        if config.architecture == .llavaNext || config.architecture == .llavaOnevision {
            guard let name = ["image_newline", "model.image_newline"].first(where: ck.contains) else {
                throw VLMError.badInput("\(directory): image_newline is missing")
            }
            imageNewline = try ck.floats(named: name)
        } else {
            imageNewline = nil
        }
    }

    /// The encoder request this family's features come from.
    var featureRequest: EncoderRequest {
        switch config.architecture {
        case .idefics3: return EncoderRequest(featureLayer: -1, applyPostLayerNorm: true)
        default: return EncoderRequest(featureLayer: config.visionFeatureLayer, applyPostLayerNorm: config.visionFeatureLayerNorm)
        }
    }

    /// Encodes and projects one processed image into LLM-space tokens, reducing each encoder
    /// image (crop, tile, base) to `budget` tokens with `reduction` when given.
    public func embed(_ image: ProcessedImage, reduction: TokenReduction? = nil) throws -> ImageEmbedding {
        let pixels = image.pixels
        var pieces: [ReducedPiece] = []   // one per encoder image: a handful, not per element
        for i in 0..<pixels.count {
            pieces.append(try encodePiece(pixels, index: i, reduction: reduction,
                                          guidance: i > 0 ? try thumbnailGuidance(image, base: pieces[0], crop: i - 1, reduction: reduction) : nil))
        }
        let fullCount = try unreducedCount(image, pieces: pieces)
        var result = try assemble(image, pieces: pieces, fullCount: fullCount, reduced: reduction != nil)
        result.reduceSeconds = pieces.reduce(0) { $0 + $1.reduceSeconds }
        result.keptMaps = pieces.map { piece in
            let valid = piece.positions.filter { $0 >= 0 }
            let keptCount = piece.keptCount ?? valid.count
            return KeptPatchMap(gridRows: piece.gridRows, gridCols: piece.gridCols, kept: Array(valid.prefix(keptCount)),
                                merged: Array(valid.dropFirst(keptCount)))
        }
        return result
    }

    private func assemble(_ image: ProcessedImage, pieces: [ReducedPiece], fullCount: Int, reduced: Bool) throws -> ImageEmbedding {
        let dim = language.decoder.config.hiddenSize
        switch (config.architecture, image.layout) {
        case (.llavaNext, .anyRes(let rows, let cols, _, _)), (.llavaOnevision, .anyRes(let rows, let cols, _, _)):
            guard pieces.count == rows * cols + 1 else {
                throw VLMError.badInput("AnyRes layout of \(rows)x\(cols) crops does not match \(pieces.count) encoded images")
            }
            let side = pieces[0].gridRows
            if !reduced {
                let packed = AnyResPacking.pack(base: pieces[0].rows, crops: Array(pieces[1...].map(\.rows).joined()), rows: rows, cols: cols,
                                                side: side, dim: dim, originalHeight: image.originalHeight,
                                                originalWidth: image.originalWidth, newline: imageNewline,
                                                maxPatches: config.maxAnyResPatches)
                return ImageEmbedding(rows: packed.features, count: packed.count, tileCounts: [packed.count], layout: image.layout,
                                      visualBefore: packed.count)
            }
            let packed = AnyResPacking.packReduced(pieces: pieces, rows: rows, cols: cols, side: side, dim: dim,
                                                   originalHeight: image.originalHeight, originalWidth: image.originalWidth,
                                                   newline: imageNewline)
            return ImageEmbedding(rows: packed.features, count: packed.count, tileCounts: [packed.count], layout: image.layout,
                                  visualBefore: fullCount)
        case (.llavaNext, _), (.llavaOnevision, _):
            // A single image without crops: its tokens plus one newline (transformers' else-branch).
            var rows = pieces[0].rows
            var count = pieces[0].count
            if let imageNewline { rows += imageNewline; count += 1 }
            return ImageEmbedding(rows: rows, count: count, tileCounts: [count], layout: image.layout, visualBefore: fullCount)
        default:
            let all = Array(pieces.map(\.rows).joined())
            return ImageEmbedding(rows: all, count: all.count / dim, tileCounts: pieces.map(\.count), layout: image.layout,
                                  visualBefore: fullCount)
        }
    }

    /// GlobalCom2's guidance for AnyRes crop `crop`, from the base image's (thumbnail's) scores.
    private func thumbnailGuidance(_ image: ProcessedImage, base: ReducedPiece, crop: Int, reduction: TokenReduction?) throws -> ThumbnailGuidance? {
        guard let reduction, let globalCom2 = reduction.reducer as? GlobalCom2Reducer, let scores = base.scores,
              case .anyRes(let rows, let cols, _, _) = image.layout else { return nil }
        let side = base.gridRows, n = side * side
        let retention = Float(try reduction.tokens(of: n)) / Float(n)
        var g = GlobalCom2Reducer.guidance(thumbnailScores: scores, side: side, rows: rows, cols: cols, retention: retention,
                                           tau: globalCom2.tau)[crop]
        let region = AnyResPacking.unpaddedRegion(gridH: rows * side, gridW: cols * side, height: image.originalHeight, width: image.originalWidth)
        let r0 = (crop / cols) * side, c0 = (crop % cols) * side
        g.valid = (0..<n).map { p in
            let y = r0 + p / side, x = c0 + p % side
            return y >= region.r0 && y < region.r1 && x >= region.c0 && x < region.c1
        }
        return g
    }

    /// Visual tokens of `image` with no reducer (what `visual_before` reports).
    private func unreducedCount(_ image: ProcessedImage, pieces: [ReducedPiece]) throws -> Int {
        let perPiece = pieces.map(\.fullCount)
        switch (config.architecture, image.layout) {
        case (.llavaNext, .anyRes(let rows, let cols, _, _)), (.llavaOnevision, .anyRes(let rows, let cols, _, _)):
            let side = pieces[0].gridRows
            let region = AnyResPacking.unpaddedRegion(gridH: rows * side, gridW: cols * side, height: image.originalHeight,
                                                      width: image.originalWidth)
            var h = region.r1 - region.r0, w = region.c1 - region.c0
            if let maxPatches = config.maxAnyResPatches {
                let ratio = (Double(h * w) / Double(maxPatches * side * side)).squareRoot()
                if ratio > 1.1 { h = Int((Double(h) / ratio).rounded(.down)); w = Int((Double(w) / ratio).rounded(.down)) }
            }
            return perPiece[0] + h * (w + (imageNewline == nil ? 0 : 1))
        case (.llavaNext, _), (.llavaOnevision, _):
            return perPiece[0] + (imageNewline == nil ? 0 : 1)
        default:
            return perPiece.reduce(0, +)
        }
    }

    /// Video frames (each already at the encoder's input size) as LLaVA-OneVision reads them:
    /// every frame's tokens projected, 2x2 bilinearly pooled (ceil(side/2) squared per frame),
    /// all frames in order, then one image_newline token after the last frame.
    public func embedVideo(_ frames: PixelBatch, reduction: TokenReduction? = nil) throws -> ImageEmbedding {
        let d = language.decoder.config.hiddenSize
        let dycoke = reduction?.reducer as? DyCokeReducer
        var frameRows: [Float] = [], perFrame = 0, side = 0
        var rows: [Float] = [], reduceSeconds = 0.0, keptMaps: [KeptPatchMap] = [], before = 0
        switch config.architecture {
        case .llavaOnevision:
            // LLaVA-OneVision: each frame's grid bilinearly pooled 2x2, one newline after the video.
            for i in 0..<frames.count {
                let full = try encodePiece(frames, index: i, reduction: nil)
                let pooledSide = (full.gridRows + 1) / 2
                let pooled = AnyResPacking.bilinearResize(full.rows, height: full.gridRows, width: full.gridCols, dim: d,
                                                          toHeight: pooledSide, toWidth: pooledSide)
                frameRows += pooled; perFrame = pooledSide * pooledSide; side = pooledSide
            }
        case .llava:
            // A LLaVA model (vlm's default model among them) reads a video as its frames' image
            // tokens one after another, under the image placeholder.
            for i in 0..<frames.count {
                let full = try encodePiece(frames, index: i, reduction: nil)
                frameRows += full.rows; perFrame = full.count; side = full.gridRows
            }
        default:
            throw VLMError.unsupported("video input is implemented for LLaVA and LLaVA-OneVision models (this is \(config.modelType))")
        }
        before = perFrame * frames.count
        if let dycoke {
            // DyCoke stage 1: temporal merging across frames.
            let t0 = ProcessStats.now
            let merged = dycoke.mergeRows(frameRows, frames: frames.count, tokensPerFrame: perFrame, width: d)
            reduceSeconds = ProcessStats.now - t0
            rows = merged.rows
            keptMaps = merged.kept.map { KeptPatchMap(gridRows: side, gridCols: perFrame / max(side, 1), kept: $0, merged: []) }
        } else if let reduction {
            // A per-image reducer sees each frame's grid, as the LLM would.
            for f in 0..<frames.count {
                let slice = Array(frameRows[(f * perFrame * d)..<((f + 1) * perFrame * d)])
                let t0 = ProcessStats.now
                let result = try reduction.reducer.reduce(ReductionInput(tokens: TokenMatrix(values: slice, count: perFrame, width: d),
                                                                         gridRows: side, gridCols: perFrame / max(side, 1),
                                                                         projected: TokenMatrix(values: slice, count: perFrame, width: d)),
                                                          budget: try reduction.tokens(of: perFrame))
                reduceSeconds += ProcessStats.now - t0
                rows += result.kept.flatMap { slice[($0 * d)..<(($0 + 1) * d)] } + result.merged
                keptMaps.append(KeptPatchMap(gridRows: side, gridCols: perFrame / max(side, 1), kept: result.kept, merged: result.mergedAnchors))
            }
        } else {
            rows = frameRows
        }
        var isVideo = false
        if config.architecture == .llavaOnevision, let imageNewline {
            rows += imageNewline
            before += 1
            isVideo = true
        }
        var e = ImageEmbedding(rows: rows, count: rows.count / d, tileCounts: [rows.count / d], layout: .single, visualBefore: before)
        e.reduceSeconds = reduceSeconds
        e.keptMaps = keptMaps
        e.isVideo = isVideo
        return e
    }

    /// The prompt text with every `<image>` (and `<video>`) marker expanded as the family's
    /// processor does.
    public func expandedPrompt(text: String, images: [ImageEmbedding]) -> String {
        let stills = images.filter { !$0.isVideo }, videos = images.filter(\.isVideo)
        let rendered = promptFormat.render(text: text, images: stills.count, videos: videos.count)
        func expand(_ text: String, marker: String, _ items: [ImageEmbedding], _ string: (ImageEmbedding) -> String) -> String {
            var parts = text.components(separatedBy: marker)
            guard parts.count == items.count + 1 else { return text }
            var out = parts.removeFirst()
            for (item, rest) in zip(items, parts) { out += string(item) + rest }
            return out
        }
        let withImages = expand(rendered, marker: "<image>", stills, imageString)
        return expand(withImages, marker: "<video>", videos) { String(repeating: "<video>", count: $0.count) }
    }

    private func imageString(_ image: ImageEmbedding) -> String {
        switch config.architecture {
        case .idefics3:
            let around = "<fake_token_around_image>", global = "<global-img>"
            func tokens(_ n: Int) -> String { String(repeating: "<image>", count: n) }
            if case .split(let rows, let cols) = image.layout, rows * cols > 0, image.tileCounts.count == rows * cols + 1 {
                var s = ""
                for r in 0..<rows {
                    for c in 0..<cols { s += around + "<row_\(r + 1)_col_\(c + 1)>" + tokens(image.tileCounts[r * cols + c]) }
                    s += "\n"
                }
                return s + "\n" + around + global + tokens(image.tileCounts.last!) + around
            }
            return around + global + tokens(image.count) + around
        default:
            return String(repeating: config.imageToken, count: image.count)
        }
    }

    /// Token ids and input embeddings of a prompt holding `images`: text tokens embedded by the
    /// LLM, image-token positions overwritten by the visual tokens in order (transformers'
    /// `masked_scatter`).
    public func promptInputs(text: String, images: [ImageEmbedding], raw: Bool = false) throws -> (ids: [Int32], embeddings: [Float]) {
        let prompt = raw ? text : expandedPrompt(text: text, images: images)
        // addSpecial adds BOS exactly when the tokenizer config asks for it (LLaVA's Llama does).
        let ids = language.tokenizer.encode(prompt, addSpecial: true)
        let d = language.decoder.config.hiddenSize
        var embeddings = [Float](repeating: 0, count: ids.count * d)
        try embeddings.withUnsafeMutableBufferPointer { try language.decoder.embed(ids, into: $0.baseAddress!) }
        // Images fill the image-token positions in order, videos the video-token positions.
        let imagePositions = ids.indices.filter { ids[$0] == config.imageTokenID }
        let videoPositions = config.videoTokenID.map { v in ids.indices.filter { ids[$0] == v } } ?? []
        let stills = images.filter { !$0.isVideo }, videos = images.filter(\.isVideo)
        let imageTotal = stills.reduce(0) { $0 + $1.count }, videoTotal = videos.reduce(0) { $0 + $1.count }
        guard imagePositions.count == imageTotal, videoPositions.count == videoTotal else {
            throw VLMError.badInput("the prompt has \(imagePositions.count) image and \(videoPositions.count) video tokens for \(imageTotal) and \(videoTotal) visual tokens")
        }
        try splice(stills, at: imagePositions, into: &embeddings, width: d)
        try splice(videos, at: videoPositions, into: &embeddings, width: d)
        return (ids, embeddings)
    }

    private func splice(_ images: [ImageEmbedding], at positions: [Int], into embeddings: inout [Float], width d: Int) throws {
        var next = 0
        for image in images {
            precondition(image.rows.count == image.count * d, "visual tokens are not \(d) wide")
            image.rows.withUnsafeBufferPointer { src in embeddings.withUnsafeMutableBufferPointer { dst in
                for r in 0..<image.count {
                    (dst.baseAddress! + positions[next] * d).update(from: src.baseAddress! + r * d, count: d)
                    next += 1
                }
            }}
        }
    }
}
