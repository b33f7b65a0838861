import ArgumentParser
import Foundation
import VLMRuntime

/// `vlm bench-kv`: what each KV-cache storage type costs in accuracy and saves in memory, on
/// a real LLM and a long prompt. The f32 cache's greedy continuation is the reference; every
/// other type is fed the same tokens (teacher forcing, so one early difference does not make
/// every later step differ) and compared step by step: top-1 agreement of the next-token
/// prediction and the mean KL divergence KL(p_f32 || p_type) of the full distributions.
///
/// Decode steps multiply with exact float activations here by default, not the 8-bit ones that
/// `generate` uses: 8-bit activations make a decode step a step function of its input, so any
/// perturbation at all (even the f16 cache's rounding) flips some activation codes and moves
/// the logits by far more than the perturbation. With them f16 itself agrees with f32 on only
/// ~98% of steps; `--activations q8` measures that way, as `generate` runs.
struct KVAccuracyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-kv", abstract: "Accuracy and memory of each KV-cache type against f32 on a long prompt.")

    @Option(help: "Model (as for generate).") var model: String?
    @Option(help: "A text file; its start is the prompt (default: Samples/long-prompt.txt, the Apache-2.0 license text).")
    var promptFile = "Samples/long-prompt.txt"
    @Option(help: "Prompt tokens taken from the file (at least this many must be there).") var promptTokens = 1500
    @Option(help: "Greedy decode steps compared.") var genTokens = 128
    @Option(help: "KV types to compare, comma-separated (default: every type but f32).") var types: String?
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Option(help: "Decode activations: exact (float; isolates the cache's own error) or q8 (8-bit, as generate runs).")
    var activations = DecodeActivations.exact
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try CommandRunner.run(json: false) {
            guard promptTokens >= 1, genTokens >= 1 else { throw VLMError.usage("counts must be positive") }
            let kinds = try (types?.split(separator: ",").map(String.init) ?? KVCacheType.allCases.map(\.rawValue).filter { $0 != "f32" })
                .map { name -> KVCacheType in
                    guard let t = KVCacheType(rawValue: name) else { throw VLMError.usage("unknown KV type \(name)") }
                    return t
                }
            Parallel.threadCount = threads ?? System.coreCount
            let lm = try LanguageModel.load(path: try ModelLocator.resolve(model))
            guard let data = FileManager.default.contents(atPath: promptFile) else { throw VLMError.badInput("\(promptFile): cannot read") }
            let all = lm.tokenizer.encode("Summarize the following text.\n\n" + String(decoding: data, as: UTF8.self), addSpecial: true)
            guard all.count >= promptTokens else { throw VLMError.usage("\(promptFile) has \(all.count) tokens, fewer than --prompt-tokens \(promptTokens)") }
            let prompt = Array(all.prefix(promptTokens))
            let decoder = lm.decoder
            decoder.exactActivations = activations == .exact
            let vocab = decoder.config.vocabSize
            let capacity = promptTokens + genTokens

            // The reference: f32 cache, greedy.
            var referenceLogits = [Float](); referenceLogits.reserveCapacity(genTokens * vocab)
            var tokens: [Int32] = []
            let reference = decoder.makeCache(.f32, capacity: capacity)
            var logits = try decoder.forward(tokens: prompt, cache: reference)
            for _ in 0..<genTokens {
                referenceLogits += logits
                let next = Int32(Sampler.argmax(logits))
                tokens.append(next)
                logits = try decoder.forward(tokens: [next], cache: reference)
            }
            var rows: [[String: Any]] = [["kv_cache": "f32", "top1_agreement": 1.0, "near_tie_misses": 0, "mean_kl": 0.0, "kv_cache_bytes": reference.storedBytes]]
            for kind in kinds {
                let cache = decoder.makeCache(kind, capacity: capacity)
                var l = try decoder.forward(tokens: prompt, cache: cache)
                var agree = 0, nearTies = 0, kl = 0.0
                var missGaps: [Double] = []
                for step in 0..<genTokens {
                    let ref = Array(referenceLogits[(step * vocab)..<((step + 1) * vocab)])
                    let top = Sampler.argmax(ref)
                    if Sampler.argmax(l) == top {
                        agree += 1
                    } else {
                        let gap = Self.margin(ref, top: top)
                        missGaps.append((Double(gap) * 1000).rounded() / 1000)
                        if gap < Self.nearTie { nearTies += 1 }
                    }
                    kl += Self.kl(ref, l)
                    l = try decoder.forward(tokens: [tokens[step]], cache: cache)
                }
                rows.append(["kv_cache": kind.rawValue, "top1_agreement": Double(agree) / Double(genTokens), "near_tie_misses": nearTies, "miss_gaps": missGaps,
                             "mean_kl": kl / Double(genTokens), "kv_cache_bytes": cache.storedBytes])
                Log.info("\(kind.rawValue): done")
            }
            if json {
                let o: [String: Any] = ["model": lm.id, "prompt_tokens": promptTokens, "gen_tokens": genTokens,
                                        "activations": activations.rawValue, "prompt_token_ids": prompt.map(Int.init), "reference_tokens": tokens.map(Int.init), "results": rows]
                Output.write(String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self) + "\n")
            } else {
                var s = "| KV cache | top-1 agreement with f32 | misses at near-ties | mean KL(f32 ‖ type) | kv_cache_bytes | vs f16 |\n|---|---:|---:|---:|---:|---:|\n"
                let f16Bytes = Double(DenseKVCacheBytes.f16(decoder.config, tokens: capacity))
                for r in rows {
                    let bytes = r["kv_cache_bytes"] as! Int
                    s += String(format: "| %@ | %.1f%% | %d | %.5f | %d | %.3f |\n", r["kv_cache"] as! String, 100 * (r["top1_agreement"] as! Double),
                                r["near_tie_misses"] as! Int,
                                r["mean_kl"] as! Double, bytes, Double(bytes) / f16Bytes)
                }
                Output.write("\(lm.id), \(promptTokens) prompt tokens, \(genTokens) teacher-forced greedy steps, \(activations.rawValue) decode activations\n" + s)
            }
        }
    }

    /// KL(p || q) of two logit vectors, computed in Double.
    /// A miss counts as a near-tie when the f32 logits of the top two tokens are closer than
    /// this: with 8-bit decode activations the f16 cache's own rounding flips such steps
    /// (measured gaps 0.014 and 0.022), so they say little about a format.
    static let nearTie: Float = 0.1

    /// The gap between the largest logit (at `top`) and the next one.
    static func margin(_ logits: [Float], top: Int) -> Float {
        var second = -Float.infinity
        for (i, x) in logits.enumerated() where i != top { second = max(second, x) }
        return logits[top] - second
    }

    static func kl(_ p: [Float], _ q: [Float]) -> Double {
        func logSoftmax(_ x: [Float]) -> [Double] {
            let m = Double(x.max() ?? 0)
            var s = 0.0
            for v in x { s += Foundation.exp(Double(v) - m) }
            let z = m + Foundation.log(s)
            return x.map { Double($0) - z }
        }
        let lp = logSoftmax(p), lq = logSoftmax(q)
        var d = 0.0
        for i in 0..<lp.count { d += Foundation.exp(lp[i]) * (lp[i] - lq[i]) }
        return max(0, d)
    }
}

/// The byte size of an f16 cache, the baseline the packed types are compared with.
enum DenseKVCacheBytes {
    static func f16(_ c: DecoderConfig, tokens: Int) -> Int { 2 * c.layerCount * tokens * c.kvHeadCount * c.headDim * 2 }
}

/// How decode steps multiply activations with the weights (see `DecoderModel.exactActivations`).
enum DecodeActivations: String, ExpressibleByArgument {
    case exact, q8
}
