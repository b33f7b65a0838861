import Foundation
import Prune
import VLMRuntime
import Video
import Vision

/// Loads a vision-language model and answers one prompt about one image: the shared body of
/// `describe`, `ask` and `logits MEDIA`. Stage times are measured here for the result record.
final class VisionRunner {
    let model: VisionLanguageModel
    let loadSeconds: Double
    /// The options of the request being served (`serve` changes them per request).
    var common: CommonOptions

    init(common: CommonOptions) throws {
        self.common = common
        let start = ProcessStats.now
        let path = try ModelLocator.resolve(common.model, default: ModelLocator.defaultVisionModelName)
        guard ModelLocator.isDirectory(path), VLMConfig.isVisionLanguageModel(directory: path) else {
            throw VLMError.usage("model '\(common.model ?? path)' has no vision encoder; images need a vision-language model directory (--model DIR; see `vlm models`)")
        }
        model = try VisionLanguageModel(directory: path)
        loadSeconds = ProcessStats.now - start
    }

    /// Why the last `answer` stopped generating.
    private(set) var stopReason: GenerationResult.StopReason = .length

    /// One image in, its prompt inputs and the timings of the stages up to the LLM.
    struct Prepared {
        var ids: [Int32]
        var embeddings: [Float]
        var visualBefore: Int
        var visualAfter: Int
        var decodeSeconds: Double
        var encodeSeconds: Double
        var reduceSeconds: Double = 0
        var frames: Int? = nil
    }

    func prepare(media: String?, prompt: String, raw: Bool = false, reduction: TokenReduction? = nil,
                 showKept: String? = nil) throws -> Prepared {
        guard let media else {
            let (ids, embeddings) = try model.promptInputs(text: prompt, images: [], raw: raw)
            return Prepared(ids: ids, embeddings: embeddings, visualBefore: 0, visualAfter: 0, decodeSeconds: 0, encodeSeconds: 0)
        }
        let t0 = ProcessStats.now
        if try isVideo(media) {
            return try prepareVideo(media, prompt: prompt, raw: raw, reduction: reduction, start: t0)
        }
        let processed = try decodeImage(media)
        return try encode(processed, decodeSeconds: ProcessStats.now - t0, prompt: prompt, raw: raw, reduction: reduction,
                          showKept: showKept)
    }

    /// Stage 1 for an image: decode and preprocess (no model weights involved).
    func decodeImage(_ media: String) throws -> ProcessedImage {
        try model.processor.process(try ImageLoader.load(path: media))
    }

    /// Stage 2 for an image: encode, reduce, project, and splice into the prompt.
    func encode(_ processed: ProcessedImage, decodeSeconds: Double, prompt: String, raw: Bool = false,
                reduction: TokenReduction?, showKept: String? = nil) throws -> Prepared {
        let t1 = ProcessStats.now
        let embedding = try model.embed(processed, reduction: reduction)
        if let showKept {
            let png = PNGEncoder.encode(KeptPatchPicture.render(processed, maps: embedding.keptMaps))
            guard FileManager.default.createFile(atPath: showKept, contents: Data(png)) else {
                throw VLMError.runtime("cannot write \(showKept)")
            }
        }
        let t2 = ProcessStats.now
        let (ids, embeddings) = try model.promptInputs(text: prompt, images: [embedding], raw: raw)
        return Prepared(ids: ids, embeddings: embeddings, visualBefore: embedding.visualBefore, visualAfter: embedding.count,
                        decodeSeconds: decodeSeconds, encodeSeconds: t2 - t1 - embedding.reduceSeconds, reduceSeconds: embedding.reduceSeconds)
    }

    /// Media type from the file's first bytes: an image format we decode, else a video.
    func isVideo(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw VLMError.badInput("\(path): cannot read") }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 16))
        guard !head.isEmpty else { throw VLMError.badInput("\(path): empty file") }
        return ImageLoader.format(of: head) == nil
    }

    /// Frames sampled as --frames/--fps ask (8 uniformly by default), scaled by FFmpeg straight
    /// to the encoder's input size, normalised as the model's processor normalises images.
    func prepareVideo(_ media: String, prompt: String, raw: Bool, reduction: TokenReduction?, start t0: Double) throws -> Prepared {
        let (pixels, frameCount) = try sampleFrames(media)
        let t1 = ProcessStats.now
        let video = try model.embedVideo(pixels, reduction: reduction)
        let t2 = ProcessStats.now
        let (ids, embeddings) = try model.promptInputs(text: prompt, images: [video], raw: raw)
        return Prepared(ids: ids, embeddings: embeddings, visualBefore: video.visualBefore, visualAfter: video.count,
                        decodeSeconds: t1 - t0, encodeSeconds: t2 - t1 - video.reduceSeconds, reduceSeconds: video.reduceSeconds,
                        frames: frameCount)
    }

    /// The frames --frames/--fps select, scaled by FFmpeg straight to the size the model's
    /// processor would give an image and normalised as it normalises images.
    func sampleFrames(_ media: String) throws -> (pixels: PixelBatch, count: Int) {
        // Bad media is bad input whatever the model; only a real video meets the family check.
        guard let info = try? MediaProbe.probe(path: media), info.firstVideoStream != nil else {
            throw VLMError.badInput("\(media): not an image or a video this build can read")
        }
        let reader = try VideoReader(path: media)
        let size: (Int, Int), normalization: PixelNormalization
        if let processor = model.processor as? AnyResProcessor {
            size = (processor.cropSize, processor.cropSize); normalization = processor.perPiece.normalization
        } else if let processor = model.processor as? ResizeCropProcessor, case .fixed(let h, let w) = processor.resize, processor.crop == nil {
            size = (w, h); normalization = processor.normalization
        } else {
            throw VLMError.unsupported("video input needs a fixed-size image processor (LLaVA-OneVision, or LLaVA with a fixed size); \(model.config.modelType) has another")
        }
        let sampling: FrameSampling = common.fps.map { .fps($0) } ?? .count(common.frames ?? 8)
        let frames = try reader.frames(sampling) { _, _ in size }
        for w in reader.warnings { Log.warn(w) }
        return (normalization.batch(frames.map(\.image)), frames.count)
    }

    /// Generates the answer for one input, streaming text to stdout unless `json`; returns the
    /// contract's result record.
    func answer(media: String?, prompt: String, common: CommonOptions, showKept: String? = nil, quiet: Bool = false,
                isCancelled: () -> Bool = { false }, onText: ((String) -> Void)? = nil) throws -> ResultRecord {
        let start = ProcessStats.now
        let prepared = try prepare(media: media, prompt: prompt, reduction: try common.reduction(encoderLayers: model.encoder.layerCount),
                                   showKept: showKept)
        return try generate(prepared, media: media, prompt: prompt, common: common, decoder: model.language.decoder, start: start,
                            quiet: quiet, isCancelled: isCancelled, onText: onText)
    }

    /// VidKV's semantic token protection: the `fraction` of visual positions whose embeddings
    /// agree most with the prompt's text (dot product with the mean text-token embedding).
    static func textRelevantTokens(ids: [Int32], embeddings: [Float], span: Range<Int>, width d: Int, fraction: Double) -> Set<Int> {
        let textPositions = (0..<ids.count).filter { !span.contains($0) }
        guard !textPositions.isEmpty else { return [] }
        return embeddings.withUnsafeBufferPointer { e -> Set<Int> in
            var mean = [Float](repeating: 0, count: d)
            for p in textPositions { for i in 0..<d { mean[i] += e[p * d + i] } }
            var scored: [(position: Int, score: Float)] = []
            scored.reserveCapacity(span.count)
            for p in span {
                var s: Float = 0
                for i in 0..<d { s += e[p * d + i] * mean[i] }
                scored.append((p, s))
            }
            scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.position < $1.position }
            return Set(scored.prefix(max(1, Int(Double(span.count) * fraction))).map(\.position))
        }
    }

    /// Cache positions from the first to the last visual token of a prompt.
    func visualSpan(_ ids: [Int32]) -> Range<Int>? {
        let visual = Set([model.config.imageTokenID] + (model.config.videoTokenID.map { [$0] } ?? []))
        guard let first = ids.firstIndex(where: visual.contains), let last = ids.lastIndex(where: visual.contains) else { return nil }
        return first..<(last + 1)
    }

    /// The KV cache one prompt is answered with: the `--kv-cache` type, VidKV's protection of
    /// the visual tokens most related to the text, and DyCoke's dynamic pruning (stage 2) when
    /// the reducer is DyCoke.
    func makeCache(ids: [Int32], embeddings: [Float], common: CommonOptions, decoder: DecoderModel, quiet: Bool = false) -> KVCache {
        let cache = decoder.makeCache(common.kvCacheType)
        if let vidkv = cache as? VidKVCache, let span = visualSpan(ids) {
            vidkv.protectTokens(Self.textRelevantTokens(ids: ids, embeddings: embeddings, span: span,
                                                        width: decoder.config.hiddenSize, fraction: 0.2))
        }
        if let dycoke = try? common.reduction(encoderLayers: model.encoder.layerCount)?.reducer as? DyCokeReducer,
           let span = visualSpan(ids) {
            // DyCoke stage 2: decoding attends to a dynamic keep set of the visual tokens.
            if let pruned = DyCokeKVCache(base: cache, visual: span, layer: min(dycoke.pruneLayer, decoder.config.layerCount - 1),
                                          pruneRatio: dycoke.pruneRatio, threshold: dycoke.threshold) {
                return pruned
            } else if !quiet {
                Log.warn("dycoke: dynamic KV pruning needs an f32 or f16 cache; only the temporal merging applies with --kv-cache \(common.kvCache)")
            }
        }
        return cache
    }

    /// The last stage: prefill and generate on `decoder` (the model's own, or a sibling for a
    /// concurrent worker), then the result record with every stage's timing.
    func generate(_ prepared: Prepared, media: String?, prompt: String, common: CommonOptions, decoder: DecoderModel,
                  start: Double, quiet: Bool = false, isCancelled: () -> Bool = { false },
                  onText: ((String) -> Void)? = nil) throws -> ResultRecord {
        let cache = makeCache(ids: prepared.ids, embeddings: prepared.embeddings, common: common, decoder: decoder, quiet: quiet)
        let options = GenerationOptions(maxTokens: common.maxTokens, sampling: common.sampling, stopStrings: common.stop)
        let generator = TextGenerator(model: decoder, tokenizer: model.language.tokenizer)
        let result = try generator.generate(promptTokens: prepared.ids, promptEmbeddings: prepared.embeddings, cache: cache,
                                            options: options, isCancelled: isCancelled) { piece in
            onText?(piece)
            if !common.json && !quiet { Output.write(piece) }
        }
        if decoder === model.language.decoder { stopReason = result.stopReason }
        var r = ResultRecord(input: media, model: model.id, prompt: prompt, text: result.text, kv_cache: common.kvCacheType.rawValue)
        r.tokens.visual_before = prepared.visualBefore
        r.tokens.visual_after = prepared.visualAfter
        r.tokens.prompt = prepared.ids.count
        r.tokens.generated = result.tokens.count
        r.timings_ms.load = loadSeconds * 1000
        r.timings_ms.decode_media = prepared.decodeSeconds * 1000
        r.timings_ms.encode = prepared.encodeSeconds * 1000
        r.timings_ms.reduce = prepared.reduceSeconds * 1000
        r.reducer = common.reducer
        r.frames = prepared.frames
        r.timings_ms.prefill = result.prefillSeconds * 1000
        r.timings_ms.generate = result.generateSeconds * 1000
        r.timings_ms.total = (ProcessStats.now - start) * 1000
        r.throughput.prefill_tok_s = result.prefillTokensPerSecond
        r.throughput.decode_tok_s = result.decodeTokensPerSecond
        r.memory.kv_cache_bytes = result.kvCacheBytes
        r.memory.peak_rss_bytes = ProcessStats.peakRSSBytes
        if !common.json && !quiet {
            Output.write("\n")
            Log.info(String(format: "%@: %d visual tokens, prompt %d tokens (%.0f ms encode, %.1f tok/s prefill); generated %d tokens, %.1f tok/s",
                            media ?? "text", prepared.visualAfter, prepared.ids.count, prepared.encodeSeconds * 1000,
                            result.prefillTokensPerSecond, result.tokens.count, result.decodeTokensPerSecond))
        }
        return r
    }
}
