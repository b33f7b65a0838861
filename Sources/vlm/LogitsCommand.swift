import ArgumentParser
import VLMRuntime

/// `vlm logits --prompt TEXT --out FILE.npy`: the logits of the last prompt position, before any
/// sampling, as a float32 .npy of shape [vocab], for comparison with reference implementations.
/// Media inputs come with the Vision stage; today the prompt is text only.
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

    @Argument(help: "Media file (images and videos arrive with the Vision and Video stages).")
    var media: String?

    func run() throws {
        try CommandRunner.run(json: false) {
            if let media { throw VLMError.usage("media input (\(media)) is not supported by this build yet; use a text prompt") }
            common.applyThreads()
            let lm = try LanguageModel.load(path: try ModelLocator.resolve(common.model))
            let tokens = try lm.promptTokens(user: prompt, system: nil, raw: raw)
            let cache = lm.decoder.makeCache(common.kvCacheType)
            let logits = try lm.decoder.forward(tokens: tokens, cache: cache, logits: .last)
            try NPYWriter.write(logits, shape: [logits.count], to: out)
            Log.info("wrote \(logits.count) logits for \(tokens.count) prompt tokens to \(out); prompt ids: \(tokens.map(String.init).joined(separator: ","))")
        }
    }
}
