import Foundation
import Prune
import VLMRuntime

/// A loaded vision-language model: image processor, vision encoder, connector and LLM, plus
/// its family's rules for turning encoder outputs into prompt tokens. Nothing here depends on
/// which family it is: the family (VLMFamily, one file per family) decides.
public final class VisionLanguageModel {
    public let config: VLMConfig
    public let language: LanguageModel
    public let processor: any ImageProcessor
    public let encoder: any VisionEncoder
    /// The model directory's name, for result records.
    public let id: String
    let family: any VLMFamily
    /// Keep the memory-mapped weights alive.
    private let checkpoint: TensorCheckpoint
    private let visionWeights: AnyObject

    /// The processor's chat template (the checkpoint's, else its tokenizer's, else the family's
    /// published one with a warning).
    public let chatTemplate: ChatTemplate

    public convenience init(directory: String) throws {
        let config = try VLMConfig.load(directory: directory)
        let ck = try TensorCheckpoint(directory: directory)
        let (language, tokenizerTemplate) = try config.family.loadLanguageModel(config: config, directory: directory, checkpoint: ck)
        let template = try Self.chatTemplate(directory: directory, tokenizerTemplate: tokenizerTemplate,
                                             fallback: config.family.fallbackChatTemplate, specialTokens: language.chatTemplate.specialTokens)
        try self.init(config: config, checkpoint: ck, language: language, chatTemplate: template,
                      processor: try ImageProcessorFactory.load(directory: directory),
                      id: String(directory.split(separator: "/").last ?? Substring(directory)), directory: directory)
    }

    /// The parts of a model as a directory or a GGUF pair gives them; the vision tower and the
    /// family's own weights are read from `checkpoint` here.
    init(config: VLMConfig, checkpoint ck: TensorCheckpoint, language: LanguageModel, chatTemplate: ChatTemplate,
         processor: any ImageProcessor, id: String, directory: String) throws {
        self.config = config
        checkpoint = ck
        self.id = id
        self.language = language
        self.chatTemplate = chatTemplate
        (encoder, visionWeights) = try config.family.loadVisionTower(config: config, directory: directory, checkpoint: ck)
        self.processor = processor
        family = try config.family.init(config: config, checkpoint: ck, encoder: encoder, textHiddenSize: language.decoder.config.hiddenSize,
                                        directory: directory)
        // Parts that were not made together (a GGUF pair of two models) must not meet in the LLM.
        let width = language.decoder.config.hiddenSize
        if let made = family.projector?.outFeatures ?? family.connector?.outputWidth, made != width {
            throw VLMError.badInput("\(directory): the projector makes \(made)-wide tokens, the language model \(language.id) reads \(width): they do not belong together")
        }
    }

    private static func chatTemplate(directory: String, tokenizerTemplate: String?, fallback: ChatTemplateFallback.Fallback,
                                     specialTokens: [String: String]) throws -> ChatTemplate {
        if let (text, origin) = try ChatTemplateSource.processorTemplate(directory: directory) {
            return try ChatTemplate(source: text, specialTokens: specialTokens, origin: origin)
        }
        if let text = tokenizerTemplate, !text.isEmpty {
            return try ChatTemplate(source: text, specialTokens: specialTokens, origin: directory + " (tokenizer chat template)")
        }
        return try ChatTemplate.fallback(fallback, specialTokens: specialTokens, for: directory)
    }

    /// Encodes and projects one processed image into LLM-space tokens, reducing each encoder
    /// image (crop, tile, base) to `budget` tokens with `reduction` when given.
    public func embed(_ image: ProcessedImage, reduction: TokenReduction? = nil) throws -> ImageEmbedding {
        let pixels = image.pixels
        var pieces: [ReducedPiece] = []   // one per encoder image: a handful, not per element
        for i in 0..<pixels.count {
            let guidance = try reduction.flatMap { r in i > 0 ? try family.cropGuidance(image, base: pieces[0], crop: i - 1, reduction: r) : nil }
            pieces.append(try encodePiece(pixels, index: i, reduction: reduction, guidance: guidance))
        }
        var result = try family.pack(image, pieces: pieces, width: language.decoder.config.hiddenSize, reduced: reduction != nil)
        result.reduceSeconds = pieces.reduce(0) { $0 + $1.reduceSeconds }
        result.keptMaps = pieces.map { piece in
            let valid = piece.positions.filter { $0 >= 0 }
            let keptCount = piece.keptCount ?? valid.count
            return KeptPatchMap(gridRows: piece.gridRows, gridCols: piece.gridCols, kept: Array(valid.prefix(keptCount)),
                                merged: Array(valid.dropFirst(keptCount)))
        }
        return result
    }

    /// One user turn holding `images` (in order) and then `text`, after an optional system
    /// message: what describe, ask and logits send.
    public static func conversation(text: String, images: [ImageEmbedding], system: String? = nil) -> [ChatMessage] {
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", parts: [.text(system)])) }
        messages.append(ChatMessage(role: "user", parts: images.map { $0.isVideo ? .video : .image } + [.text(text)]))
        return messages
    }

    /// The conversation with each media part typed as its embedding reads, in order: a family
    /// that reads a video as image tokens (LLaVA and vlm's default model: the frames under the
    /// image placeholder) gets an image part where a request said video, so that the template
    /// writes the marker the family's placeholder replaces. Other keys of a part stay.
    public static func typingMediaParts(_ messages: [ChatMessage], as media: [ImageEmbedding]) -> [ChatMessage] {
        var next = media.makeIterator()
        return messages.map { message in
            guard case .dict(var dict) = message.value, case .list(let parts)? = dict["content"] else { return message }
            dict["content"] = .list(parts.map { part in
                guard case .dict(var p) = part, case .string(let type)? = p["type"], type == "image" || type == "video",
                      let embedding = next.next() else { return part }
                p["type"] = .string(embedding.isVideo ? "video" : "image")
                return .dict(p)
            })
            var typed = message
            typed.value = .dict(dict)
            return typed
        }
    }

    /// The conversation in the chat template, with every image (and video) marker the template
    /// writes (`<image>`, Qwen's `<|image_pad|>`) expanded as the family's processor does: the
    /// i-th marker is the i-th image.
    public func expandedPrompt(messages: [ChatMessage], images: [ImageEmbedding], addGenerationPrompt: Bool = true,
                               tools: JinjaValue = .none, variables: [String: JinjaValue] = [:], now: Date = Date()) throws -> String {
        let stills = images.filter { !$0.isVideo }, videos = images.filter(\.isVideo)
        let rendered = try chatTemplate.render(messages, addGenerationPrompt: addGenerationPrompt, tools: tools, variables: variables, now: now)
        func expand(_ text: String, marker: String, _ items: [ImageEmbedding], _ string: (ImageEmbedding) -> String) -> String {
            var parts = text.components(separatedBy: marker)
            guard parts.count == items.count + 1 else { return text }
            var out = parts.removeFirst()
            for (item, rest) in zip(items, parts) { out += string(item) + rest }
            return out
        }
        let withImages = expand(rendered, marker: family.imageMarker, stills, family.placeholder)
        return expand(withImages, marker: family.videoMarker, videos, family.videoPlaceholder)
    }

    /// The prompt text as it is tokenized, and whether the tokenizer adds its special tokens:
    /// `raw` itself, else `messages` rendered and expanded.
    public func promptText(messages: [ChatMessage], images: [ImageEmbedding], raw: String? = nil, addGenerationPrompt: Bool = true,
                           tools: JinjaValue = .none, variables: [String: JinjaValue] = [:], now: Date = Date()) throws
        -> (text: String, addSpecial: Bool) {
        if let raw { return (raw, true) }
        let text = try expandedPrompt(messages: messages, images: images, addGenerationPrompt: addGenerationPrompt,
                                      tools: tools, variables: variables, now: now)
        return (text, chatTemplate.addsSpecialTokens(to: text, processor: true))
    }

    /// Token ids and input embeddings of a prompt holding `images`: text tokens embedded by the
    /// LLM, image-token positions overwritten by the visual tokens in order (transformers'
    /// `masked_scatter`).
    public func promptInputs(text: String, images: [ImageEmbedding], raw: Bool = false, system: String? = nil) throws -> (ids: [Int32], embeddings: [Float]) {
        try promptInputs(messages: Self.conversation(text: text, images: images, system: system), images: images, raw: raw ? text : nil)
    }

    /// The same for a whole conversation; `raw` replaces the rendered text.
    public func promptInputs(messages: [ChatMessage], images: [ImageEmbedding], raw: String? = nil) throws -> (ids: [Int32], embeddings: [Float]) {
        let (prompt, addSpecial) = try promptText(messages: messages, images: images, raw: raw)
        // As transformers' processor: BOS from the tokenizer (when its config asks for one)
        // unless the template already wrote it.
        let ids = language.tokenizer.encode(prompt, addSpecial: addSpecial)
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

    /// Multimodal RoPE positions (when the LLM uses them), DeepStack rows (when the media carry
    /// any) and the runs of image tokens that attend both ways (when the family reads them so)
    /// of a prompt's ids.
    public func promptExtras(ids: [Int32], images: [ImageEmbedding]) throws
        -> (positions: TokenPositions?, injection: LayerInjection?, bidirectional: [Range<Int>]) {
        let positions = language.decoder.config.mropeAxes == nil ? nil
            : try PromptPositions.build(ids: ids, imageToken: config.imageTokenID, videoToken: config.videoTokenID, media: images)
        let injection = try PromptPositions.injection(ids: ids, imageToken: config.imageTokenID, videoToken: config.videoTokenID, media: images)
        let bidirectional = family.imageTokensAttendBothWays ? PromptPositions.runs(of: config.imageTokenID, in: ids) : []
        return (positions, injection, bidirectional)
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
