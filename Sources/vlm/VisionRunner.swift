import Foundation
import VLMRuntime
import Vision

/// The CLI's side of the library pipeline (`VLMPipeline`): loads the model the options name,
/// runs one input through the pipeline, prints what the command line prints, and turns the
/// outcome into the contract's result record. describe, ask, logits, batch, eval and serve
/// share it; none of them builds prompts or caches of its own.
final class VisionRunner {
    let pipeline: VLMPipeline
    let loadSeconds: Double
    var model: VisionLanguageModel { pipeline.model }

    init(common: CommonOptions) throws {
        let start = ProcessStats.now
        let path = try ModelLocator.resolve(common.model, default: ModelLocator.defaultVisionModelName)
        if let mmproj = common.mmproj {
            guard ModelLocator.fileExists(mmproj) else { throw VLMError.badInput("--mmproj \(mmproj): no such file") }
            guard !ModelLocator.isDirectory(path) else { throw VLMError.usage("--mmproj goes with a GGUF language model (--model FILE.gguf), not the directory \(path)") }
            pipeline = VLMPipeline(model: try VisionLanguageModel(model: path, mmproj: mmproj))
        } else {
            guard ModelLocator.isDirectory(path), VLMConfig.isVisionLanguageModel(directory: path) else {
                let beside = ModelLocator.isDirectory(path) ? [] : GGUFPair.mmprojFiles(besideModel: path)
                let hint = beside.isEmpty ? "" : "; its folder has \(beside.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")): add --mmproj FILE"
                throw VLMError.usage("model '\(common.model ?? path)' has no vision encoder; images need a vision-language model directory or a GGUF with --mmproj (see `vlm models`)\(hint)")
            }
            pipeline = try VLMPipeline(directory: path)
        }
        try common.applyAdapters(to: pipeline.model.language.decoder)
        loadSeconds = ProcessStats.now - start
        if let warning = pipeline.model.chatTemplate.warning { Log.warn(warning) }
    }

    /// Why the last `generate` on the model's own decoder stopped.
    private(set) var stopReason: GenerationResult.StopReason = .length

    /// How a run talks to the terminal: `json` prints nothing but the record (the caller
    /// does), `quiet` nothing at all (batch, serve).
    struct Display { var json = false; var quiet = false }

    /// One input (or none) and a prompt, end to end; streams the text unless told otherwise.
    func answer(media: String?, prompt: String, options: PipelineOptions, display: Display, showKept: String? = nil,
                isCancelled: () -> Bool = { false }, onText: ((String) -> Void)? = nil) throws -> ResultRecord {
        try answer(media: media.map { [$0] } ?? [], prompt: prompt, conversation: nil, options: options, display: display,
                   showKept: showKept, isCancelled: isCancelled, onText: onText)
    }

    /// Several inputs, and either a text prompt about them or a whole conversation (whose image
    /// and video parts are `media`, in order; `prompt` is then what the record names).
    func answer(media: [String], prompt: String, conversation: [ChatMessage]?, options: PipelineOptions, display: Display,
                showKept: String? = nil, isCancelled: () -> Bool = { false }, onText: ((String) -> Void)? = nil) throws -> ResultRecord {
        let start = ProcessStats.now
        let question: PipelinePrompt = conversation.map { .conversation($0) } ?? .text(prompt)
        let prepared = try pipeline.prepare(question, media: media.map { .file($0) }, options: options, keptPicture: showKept != nil)
        if let showKept, let picture = prepared.keptPicture {
            guard FileManager.default.createFile(atPath: showKept, contents: Data(PNGEncoder.encode(picture))) else {
                throw VLMError.runtime("cannot write \(showKept)")
            }
        }
        return try generate(prepared, media: media.first, prompt: prompt, options: options, display: display, start: start,
                            isCancelled: isCancelled, onText: onText)
    }

    /// The last stage: prefill and generate on `decoder` (the model's own, or a sibling for a
    /// concurrent worker), then the result record with every stage's timing.
    func generate(_ prepared: PreparedPrompt, media: String?, prompt: String, options: PipelineOptions, display: Display,
                  decoder: DecoderModel? = nil, start: Double, isCancelled: () -> Bool = { false },
                  onText: ((String) -> Void)? = nil) throws -> ResultRecord {
        let shows = !display.json && !display.quiet
        let (result, warnings) = try pipeline.generate(prepared, options: options, decoder: decoder, isCancelled: isCancelled) { piece in
            onText?(piece)
            if shows { Output.write(piece) }
        }
        if !display.quiet { for w in prepared.warnings + warnings { Log.warn(w) } }
        if decoder == nil || decoder === model.language.decoder { stopReason = result.stopReason }
        var r = ResultRecord(input: media, model: model.id, prompt: prompt, text: result.text, kv_cache: options.kvCache.rawValue)
        r.tokens.visual_before = prepared.visualBefore
        r.tokens.visual_after = prepared.visualAfter
        r.tokens.prompt = prepared.ids.count
        r.tokens.generated = result.tokens.count
        r.timings_ms.load = loadSeconds * 1000
        r.timings_ms.decode_media = prepared.decodeSeconds * 1000
        r.timings_ms.encode = prepared.encodeSeconds * 1000
        r.timings_ms.reduce = prepared.reduceSeconds * 1000
        r.reducer = options.reducer
        r.frames = prepared.frames
        r.timings_ms.prefill = result.prefillSeconds * 1000
        r.timings_ms.generate = result.generateSeconds * 1000
        r.timings_ms.total = (ProcessStats.now - start) * 1000
        r.throughput.prefill_tok_s = result.prefillTokensPerSecond
        r.throughput.decode_tok_s = result.decodeTokensPerSecond
        r.memory.kv_cache_bytes = result.kvCacheBytes
        r.memory.peak_rss_bytes = ProcessStats.peakRSSBytes
        if shows {
            Output.write("\n")
            Log.info(String(format: "%@: %d visual tokens, prompt %d tokens (%.0f ms encode, %.1f tok/s prefill); generated %d tokens, %.1f tok/s",
                            media ?? "text", prepared.visualAfter, prepared.ids.count, prepared.encodeSeconds * 1000,
                            result.prefillTokensPerSecond, result.tokens.count, result.decodeTokensPerSecond))
        }
        return r
    }
}
