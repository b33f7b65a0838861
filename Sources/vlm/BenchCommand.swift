import ArgumentParser
import Foundation
import VLMRuntime

/// `vlm bench`: prefill and decode throughput of the LLM on a fixed synthetic prompt, the
/// numbers compared with llama.cpp by scripts/bench_llamacpp.py. The prompt is a fixed English
/// text tokenized and repeated to the requested length; decode runs greedily for exactly
/// `--gen-tokens` steps (EOS is ignored so every run does the same work).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure prefill and decode throughput.")

    @Option(help: "Model (as for generate).") var model: String?
    @Option(help: "Prompt length in tokens.") var promptTokens = 512
    @Option(help: "Tokens to decode.") var genTokens = 128
    @Option(help: "Timed repetitions; the best is reported.") var repeats = 3
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Option(help: "KV cache type.") var kvCache = "f16"
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "A LoRA adapter GGUF, FILE or FILE:SCALE (repeatable): its decode cost is measured with the base's.") var lora: [String] = []

    static let text = "The quick brown fox jumps over the lazy dog. Vision-language models read images as sequences of tokens, and most of those tokens can be dropped without changing the answer. "

    func run() throws {
        try CommandRunner.run(json: false) {
            guard promptTokens >= 1, genTokens >= 0, repeats >= 1 else { throw VLMError.usage("counts must be positive") }
            guard let kv = KVCacheType(rawValue: kvCache) else { throw VLMError.usage("unknown --kv-cache \(kvCache)") }
            let n = threads ?? System.coreCount
            Parallel.threadCount = n
            let t0 = ProcessStats.now
            let lm = try LanguageModel.load(path: try ModelLocator.resolve(model))
            try LoRAOption.apply(lora, to: lm.decoder)
            let loadSeconds = ProcessStats.now - t0
            let unit = lm.tokenizer.encode(Self.text, addSpecial: false)
            let prompt = (0..<promptTokens).map { unit[$0 % unit.count] }

            var bestPrefill = Double.infinity, bestDecode = Double.infinity
            for _ in 0..<repeats {
                let cache = lm.decoder.makeCache(kv, capacity: promptTokens + genTokens)
                let a = ProcessStats.now
                var logits = try lm.decoder.forward(tokens: prompt, cache: cache)
                let b = ProcessStats.now
                for _ in 0..<genTokens {
                    let next = Int32(Sampler.argmax(logits))
                    logits = try lm.decoder.forward(tokens: [next], cache: cache)
                }
                let c = ProcessStats.now
                bestPrefill = min(bestPrefill, b - a)
                bestDecode = min(bestDecode, c - b)
            }
            let prefillRate = Double(promptTokens) / bestPrefill
            let decodeRate = genTokens > 0 ? Double(genTokens) / bestDecode : 0
            let rss = ProcessStats.peakRSSBytes
            if json {
                let o: [String: Any] = ["model": lm.id, "threads": n, "prompt_tokens": promptTokens, "gen_tokens": genTokens,
                                        "kv_cache": kvCache, "load_s": loadSeconds, "prefill_tok_s": prefillRate,
                                        "decode_tok_s": decodeRate, "peak_rss_bytes": rss,
                                        "cpu": ProcessStats.cpuModel, "cpu_path": CPUPath.current.name, "cpu_path_detail": CPUPath.summary,
                                        "lora": lm.decoder.adapters.map { ["file": $0.name, "rank": $0.maxRank] }]
                let data = try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
                Output.write(String(decoding: data, as: UTF8.self) + "\n")
            } else {
                let adapters = lm.decoder.adapters.map { "  + LoRA \($0.name) (rank \($0.maxRank))" }.joined()
                Output.write(String(format: "%@%@  threads %d  prefill %d tokens: %.1f tok/s  decode %d tokens: %.1f tok/s  peak RSS %.0f MB\n",
                                    lm.id, adapters, n, promptTokens, prefillRate, genTokens, decodeRate, Double(rss) / 1e6))
                Output.write("CPU: \(ProcessStats.cpuModel); kernel path: \(CPUPath.summary)\n")
            }
        }
    }
}
