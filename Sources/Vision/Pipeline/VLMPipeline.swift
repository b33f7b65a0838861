import Foundation
import Prune
import Video
import VLMRuntime

/// The whole path from media and a prompt to generated text, as one library type:
///
///     decode + preprocess  ->  encode + reduce + project  ->  prompt (ids, embeddings)  ->  KV cache + generate
///          `decode`                  `encode`                     `prompt`                  `makeCache`, `generate`
///
/// `prepare` runs the first three for a prompt and its media; the CLI (describe, ask, logits,
/// batch, eval), the server and the staged pipeline call these stages and nothing of their
/// own, so every entry point builds the same prompt with the same cache. Options come as one
/// `PipelineOptions` value. The stages are safe to run on different threads for different
/// inputs (the staged pipeline does); `generate` on one decoder at a time.
public final class VLMPipeline: @unchecked Sendable {
    public let model: VisionLanguageModel

    public init(model: VisionLanguageModel) { self.model = model }

    public convenience init(directory: String) throws { self.init(model: try VisionLanguageModel(directory: directory)) }

    /// The reduction `options` ask for on this model's encoder (nil: none).
    public func reduction(_ options: PipelineOptions) throws -> TokenReduction? {
        try options.reduction(encoderLayers: model.encoder.layerCount)
    }

    // MARK: Stage 1

    /// Decodes and preprocesses one input: an image through the model's processor; a video's
    /// frames sampled as `options` say, scaled by FFmpeg straight to the processor's frame size.
    public func decode(_ input: MediaInput, options: PipelineOptions) throws -> DecodedMedia {
        let t0 = ProcessStats.now
        switch input {
        case .image(let image):
            return DecodedMedia(content: .image(try model.processor.process(image)), seconds: ProcessStats.now - t0)
        case .frames(let frames):
            guard let first = frames.first else { throw VLMError.badInput("a video of no frames") }
            let format = try videoFrameInput(sourceWidth: first.width, sourceHeight: first.height)
            let resized = frames.map { PILResampler.resize($0, width: format.width, height: format.height, filter: .bilinear) }
            var decoded = DecodedMedia(content: .video(format.normalization.batch(resized), frames: frames.count), seconds: ProcessStats.now - t0)
            decoded.frameSeconds = options.fps.map { fps in frames.indices.map { Double($0) / fps } }
            return decoded
        case .file(let path):
            guard try MediaInput.isVideo(path) else {
                let image = try model.processor.process(try ImageLoader.load(path: path))
                return DecodedMedia(content: .image(image), seconds: ProcessStats.now - t0)
            }
            // Bad media is bad input whatever the model; only a real video meets the family check.
            guard let info = try? MediaProbe.probe(path: path), info.firstVideoStream != nil else {
                throw VLMError.badInput("\(path): not an image or a video this build can read")
            }
            let stream = info.firstVideoStream!
            let upright = stream.rotation == 90 || stream.rotation == 270 ? (stream.height, stream.width) : (stream.width, stream.height)
            let format = try videoFrameInput(sourceWidth: upright.0, sourceHeight: upright.1)
            let reader = try VideoReader(path: path)
            let frames = try reader.frames(options.frameSampling) { _, _ in (format.width, format.height) }
            return DecodedMedia(content: .video(format.normalization.batch(frames.map(\.image)), frames: frames.count),
                                seconds: ProcessStats.now - t0, warnings: reader.warnings, frameSeconds: frames.map(\.seconds))
        }
    }

    private func videoFrameInput(sourceWidth: Int, sourceHeight: Int) throws -> VideoFrameInput {
        guard let format = model.processor.videoFrameInput(sourceWidth: sourceWidth, sourceHeight: sourceHeight) else {
            throw VLMError.unsupported("video input needs a fixed-size image processor (LLaVA-OneVision, or LLaVA with a fixed size); \(model.config.modelType) has another")
        }
        return format
    }

    // MARK: Stage 2

    /// Encodes, reduces and projects one decoded input into the LLM's visual tokens.
    public func encode(_ media: DecodedMedia, reduction: TokenReduction?) throws -> ImageEmbedding {
        switch media.content {
        case .image(let image): return try model.embed(image, reduction: reduction)
        case .video(let frames, _): return try model.embedVideo(frames, reduction: reduction, frameSeconds: media.frameSeconds)
        }
    }

    // MARK: Stage 3

    /// The prompt's ids and embeddings with `media` in order, through the model's chat template
    /// (`options.raw`: a text prompt as it is).
    public func prompt(_ prompt: PipelinePrompt, media: [ImageEmbedding], options: PipelineOptions) throws -> (ids: [Int32], embeddings: [Float]) {
        switch prompt {
        case .text(let text):
            return try model.promptInputs(text: text, images: media, raw: options.raw, system: options.system)
        case .conversation(let messages):
            return try model.promptInputs(messages: VisionLanguageModel.typingMediaParts(messages, as: media), images: media)
        }
    }

    /// Stages 1-3 for `prompt` about `media` (none, one, or several images and videos).
    public func prepare(prompt: String, media: [MediaInput], options: PipelineOptions, keptPicture: Bool = false) throws -> PreparedPrompt {
        try prepare(.text(prompt), media: media, options: options, keptPicture: keptPicture)
    }

    public func prepare(_ prompt: PipelinePrompt, media: [MediaInput], options: PipelineOptions, keptPicture: Bool = false) throws -> PreparedPrompt {
        let decoded = try media.map { try decode($0, options: options) }
        return try prepare(prompt, decoded: decoded, options: options, keptPicture: keptPicture)
    }

    /// Stages 2-3, for media already decoded (the staged pipeline decodes on another thread).
    public func prepare(prompt: String, decoded: [DecodedMedia], options: PipelineOptions, keptPicture: Bool = false) throws -> PreparedPrompt {
        try prepare(.text(prompt), decoded: decoded, options: options, keptPicture: keptPicture)
    }

    public func prepare(_ prompt: PipelinePrompt, decoded: [DecodedMedia], options: PipelineOptions, keptPicture: Bool = false) throws -> PreparedPrompt {
        let reduction = try reduction(options)
        var embeddings: [ImageEmbedding] = []
        var prepared = PreparedPrompt(ids: [], embeddings: [])
        let t0 = ProcessStats.now
        for media in decoded {
            let e = try encode(media, reduction: reduction)
            if keptPicture, prepared.keptPicture == nil, case .image(let image) = media.content {
                prepared.keptPicture = KeptPatchPicture.render(image, maps: e.keptMaps)
            }
            if case .video(_, let frames) = media.content { prepared.frames = (prepared.frames ?? 0) + frames }
            prepared.decodeSeconds += media.seconds
            prepared.reduceSeconds += e.reduceSeconds
            prepared.visualBefore += e.visualBefore
            prepared.visualAfter += e.count
            prepared.warnings += media.warnings
            embeddings.append(e)
        }
        prepared.encodeSeconds = ProcessStats.now - t0 - prepared.reduceSeconds
        let prompted = try self.prepare(prompt, embedded: embeddings, options: options)
        (prepared.ids, prepared.embeddings, prepared.visualSpan) = (prompted.ids, prompted.embeddings, prompted.visualSpan)
        (prepared.positions, prepared.injection, prepared.bidirectional) = (prompted.positions, prompted.injection, prompted.bidirectional)
        prepared.reducer = reduction?.name ?? "none"
        return prepared
    }

    /// Stage 3 alone, for media already encoded (eval asks several questions about one scene).
    public func prepare(prompt: String, embedded: [ImageEmbedding], options: PipelineOptions) throws -> PreparedPrompt {
        try prepare(.text(prompt), embedded: embedded, options: options)
    }

    public func prepare(_ prompt: PipelinePrompt, embedded: [ImageEmbedding], options: PipelineOptions) throws -> PreparedPrompt {
        var prepared = PreparedPrompt(ids: [], embeddings: [])
        (prepared.ids, prepared.embeddings) = try self.prompt(prompt, media: embedded, options: options)
        prepared.visualSpan = visualSpan(prepared.ids)
        (prepared.positions, prepared.injection, prepared.bidirectional) = try model.promptExtras(ids: prepared.ids, images: embedded)
        prepared.visualBefore = embedded.reduce(0) { $0 + $1.visualBefore }
        prepared.visualAfter = embedded.reduce(0) { $0 + $1.count }
        return prepared
    }

    /// Cache positions from the first to the last visual token of a prompt.
    public func visualSpan(_ ids: [Int32]) -> Range<Int>? {
        let visual = Set([model.config.imageTokenID] + (model.config.videoTokenID.map { [$0] } ?? []))
        guard let first = ids.firstIndex(where: visual.contains), let last = ids.lastIndex(where: visual.contains) else { return nil }
        return first..<(last + 1)
    }

    // MARK: Stage 4

    /// The KV cache a prompt is answered with: `options.kvCache`, with the visual tokens most
    /// related to the text protected where the cache offers that (VidKV), wrapped by a temporal
    /// reducer's decode-time policy where it has one (DyCoke's stage 2). `warnings` says what
    /// could not apply.
    public func makeCache(for prepared: PreparedPrompt, options: PipelineOptions, decoder: DecoderModel? = nil) throws
        -> (cache: KVCache, warnings: [String]) {
        let decoder = decoder ?? model.language.decoder
        let cache = decoder.makeCache(options.kvCache)
        guard let span = prepared.visualSpan else { return (cache, []) }
        if cache.protectedVisualFraction > 0 {
            cache.protectTokens(VisualTokenProtection.textRelevantTokens(ids: prepared.ids, embeddings: prepared.embeddings, span: span,
                                                                         width: decoder.config.hiddenSize,
                                                                         fraction: cache.protectedVisualFraction))
        }
        if let temporal = try reduction(options)?.temporal {
            if let wrapped = temporal.decodingCache(base: cache, visual: span, layerCount: decoder.config.layerCount) {
                return (wrapped, [])
            }
            return (cache, ["\(temporal.name): its decode-time KV policy needs an f32 or f16 cache; only its token merging applies with --kv-cache \(options.kvCache.rawValue)"])
        }
        return (cache, [])
    }

    /// Prefills `prepared` and generates on `decoder` (the model's own by default, or a
    /// sibling for a concurrent worker), with the cache `makeCache` gives.
    public func generate(_ prepared: PreparedPrompt, options: PipelineOptions, decoder: DecoderModel? = nil,
                         isCancelled: () -> Bool = { false }, onText: (String) -> Void = { _ in }) throws
        -> (result: GenerationResult, warnings: [String]) {
        let decoder = decoder ?? model.language.decoder
        let (cache, warnings) = try makeCache(for: prepared, options: options, decoder: decoder)
        let generator = TextGenerator(model: decoder, tokenizer: model.language.tokenizer)
        let result = try generator.generate(promptTokens: prepared.ids, promptEmbeddings: prepared.embeddings, cache: cache,
                                            positions: prepared.positions, injection: prepared.injection,
                                            bidirectional: prepared.bidirectional,
                                            options: options.generation, isCancelled: isCancelled, onText: onText)
        return (result, warnings)
    }
}
