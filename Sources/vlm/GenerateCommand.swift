import ArgumentParser
import VLMRuntime

/// `vlm generate --prompt TEXT`: text generation with no media. Streams the text to stdout as it
/// is generated, or prints one JSON result object with `--json`.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text from a text prompt (no media).")

    @OptionGroup var common: CommonOptions

    @Option(help: "The user prompt.")
    var prompt: String

    @Flag(help: "Pass the prompt to the model untouched (no chat template).")
    var raw = false

    func run() throws {
        try CommandRunner.run(json: common.json) {
            common.applyThreads()
            let start = ProcessStats.now
            let path = try ModelLocator.resolve(common.model)
            let lm = try LanguageModel.load(path: path)
            try common.applyAdapters(to: lm.decoder)
            let loaded = ProcessStats.now
            if let warning = lm.templateWarning, !raw { Log.warn(warning) }

            let tokens = try lm.promptTokens(user: prompt, system: common.system, raw: raw)
            let cache = lm.decoder.makeCache(common.kvCacheType)
            let options = GenerationOptions(maxTokens: common.maxTokens, sampling: common.sampling,
                                            stopStrings: common.stop)
            let generator = TextGenerator(model: lm.decoder, tokenizer: lm.tokenizer)
            let result = try generator.generate(promptTokens: tokens, cache: cache, options: options) { piece in
                if !common.json { Output.write(piece) }
            }
            let end = ProcessStats.now
            if common.json {
                var r = ResultRecord(input: nil, model: lm.id, prompt: prompt, text: result.text,
                                     kv_cache: common.kvCacheType.rawValue)
                r.tokens.prompt = tokens.count
                r.tokens.generated = result.tokens.count
                r.timings_ms.load = (loaded - start) * 1000
                r.timings_ms.prefill = result.prefillSeconds * 1000
                r.timings_ms.generate = result.generateSeconds * 1000
                r.timings_ms.total = (end - start) * 1000
                r.throughput.prefill_tok_s = result.prefillTokensPerSecond
                r.throughput.decode_tok_s = result.decodeTokensPerSecond
                r.memory.kv_cache_bytes = result.kvCacheBytes
                r.memory.peak_rss_bytes = ProcessStats.peakRSSBytes
                Output.write(r.jsonLine() + "\n")
            } else {
                Output.write("\n")
                Log.info(String(format: "prompt %d tokens, %.1f tok/s; generated %d tokens, %.1f tok/s (%@)",
                                tokens.count, result.prefillTokensPerSecond, result.tokens.count,
                                result.decodeTokensPerSecond, result.stopReason.rawValue))
            }
        }
    }
}
