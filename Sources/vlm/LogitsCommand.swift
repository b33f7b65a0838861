import ArgumentParser
import VLMRuntime
import Vision

/// `vlm logits --prompt TEXT --out FILE.npy`: the logits of the last prompt position, before any
/// sampling, as a float32 .npy of shape [vocab], for comparison with reference implementations.
/// With MEDIA (or any vision-language model) the prompt is built exactly as `describe`/`ask`
/// build it: one user turn with the image first, in the model's chat format.
struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits", abstract: "Write the last prompt position's logits as a float32 .npy file.")

    @OptionGroup var common: CommonOptions

    @Option(help: "The user prompt.")
    var prompt: String

    @Option(help: "Where to write the [vocab] float32 .npy file.")
    var out: String

    @Flag(help: "Pass the prompt untouched (no chat template).")
    var raw = false

    @Argument(help: "An image file (needs a vision-language model).")
    var media: String?

    func run() throws {
        try CommandRunner.run(json: false) {
            common.applyThreads()
            let path = try ModelLocator.resolve(common.model, default: media != nil ? ModelLocator.defaultVisionModelName : ModelLocator.defaultModelName)
            if media != nil || common.mmproj != nil || (ModelLocator.isDirectory(path) && VLMConfig.isVisionLanguageModel(directory: path)) {
                let runner = try VisionRunner(common: common)
                var options = common.pipelineOptions
                options.raw = raw
                let prepared = try runner.pipeline.prepare(prompt: prompt, media: media.map { [.file($0)] } ?? [], options: options)
                let decoder = runner.model.language.decoder
                var x = prepared.embeddings
                let logits = try decoder.forward(embeddings: &x, rows: prepared.ids.count, cache: decoder.makeCache(common.kvCacheType),
                                                 positions: prepared.positions, injection: prepared.injection,
                                                 bidirectional: prepared.bidirectional)
                try NPYWriter.write(logits, shape: [logits.count], to: out)
                Log.info("wrote \(logits.count) logits for \(prepared.ids.count) prompt tokens (\(prepared.visualAfter) visual) to \(out)")
                return
            }
            let lm = try LanguageModel.load(path: path)
            try common.applyAdapters(to: lm.decoder)
            let tokens = try lm.promptTokens(user: prompt, system: nil, raw: raw)
            let cache = lm.decoder.makeCache(common.kvCacheType)
            let logits = try lm.decoder.forward(tokens: tokens, cache: cache, logits: .last)
            try NPYWriter.write(logits, shape: [logits.count], to: out)
            Log.info("wrote \(logits.count) logits for \(tokens.count) prompt tokens to \(out); prompt ids: \(tokens.map(String.init).joined(separator: ","))")
        }
    }
}
