import ArgumentParser
import Foundation
import Prune
import Vision
import VLMRuntime

/// `vlm bench-reducers`: time to first token for each reducer at given budgets against no
/// reduction, in one run, on a model of published shapes with random weights: LLaVA-OneVision-
/// 0.5B (one 384-px image, 729 visual tokens) or Qwen2.5-VL-3B (one 1,280x720 image, 1,196
/// merged tokens). Prints a table with each reducer's own cost.
struct ReducerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-reducers", abstract: "Time to first token per reducer on a model of published shapes with random weights.")

    @Option(help: "The model's shapes: onevision-0.5b or qwen2.5-vl-3b.") var shape = "onevision-0.5b"
    @Option(help: "Budgets, comma-separated: tokens kept, or a share of the visual tokens as N%.") var keep = "64,192"
    @Option(help: "Reducers, comma-separated.") var reducers = "random,pool,divprune,visionzip,hiprune,flextok"
    @Option(help: "Timed repetitions per configuration; the best is reported.") var repeats = 1
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Flag(name: .customLong("vision-bf16"), help: "Vision linear layers in bfloat16 on CPUs with AVX-512-BF16.") var visionBF16 = false
    @Option(help: "Video mode: frames of 196 tokens (LLaVA-OneVision pooling); compares none with DyCoke.") var videoFrames: Int?
    @Option(help: "Video mode: greedy tokens decoded.") var genTokens = 512
    @Option(help: "Video mode: DyCoke options as key=value, comma-separated.") var dycoke = ""
    @Option(help: "How the LLM's random weights are stored: f32 or q8_0.") var llmWeights = "f32"

    func run() throws {
        try CommandRunner.run(json: false) {
            Parallel.threadCount = threads ?? System.coreCount
            if visionBF16 { BF16Weights.requested = true }
            let budgets = try keep.split(separator: ",").map { item -> (label: String, budget: TokenReduction.Budget) in
                if item.hasSuffix("%"), let p = Double(item.dropLast()), p > 0, p <= 100 { return (String(item), .ratio(p / 100)) }
                guard let k = Int(item), k > 0 else { throw VLMError.usage("--keep wants token counts or percentages, got '\(item)'") }
                return (String(item), .tokens(k))
            }
            let names = reducers.split(separator: ",").map(String.init)
            guard let weightType = ["f32": GGMLType.f32, "q8_0": .q8_0][llmWeights] else {
                throw VLMError.usage("--llm-weights must be f32 or q8_0")
            }
            if videoFrames != nil, shape != "onevision-0.5b" { throw VLMError.usage("--video-frames runs on --shape onevision-0.5b only") }
            let bench: ReducerBenchmark
            switch shape {
            case "onevision-0.5b":
                Log.info("building a random LLaVA-OneVision-0.5B-shaped model (SigLIP-so400m 384 px + Qwen2-0.5B, LLM weights \(llmWeights))...")
                bench = try ReducerBenchmark.onevision05B(llmWeights: weightType)
            case "qwen2.5-vl-3b":
                Log.info("building a random Qwen2.5-VL-3B-shaped model (its ViT at 1280x720 + merger + 36-layer LLM, LLM weights \(llmWeights))...")
                bench = try ReducerBenchmark.qwen25VL3B(llmWeights: weightType)
            default: throw VLMError.usage("--shape must be onevision-0.5b or qwen2.5-vl-3b")
            }
            var rng = SeededGenerator(seed: 9)
            let (h, w) = (bench.imageHeight, bench.imageWidth)
            let pixels = PixelBatch(data: (0..<(3 * h * w)).map { _ in rng.nextUnit() * 2 - 1 }, count: 1, height: h, width: w)
            if let frames = videoFrames {
                try runVideo(bench, pixels: pixels, frames: frames, rng: &rng)
                return
            }
            func best(_ reduction: TokenReduction?) throws -> ReducerBenchmark.Timing {
                var result: ReducerBenchmark.Timing?
                for _ in 0..<max(1, repeats) {
                    let t = try bench.run(pixels, reduction: reduction)
                    if result == nil || t.total < result!.total { result = t }
                }
                return result!
            }
            _ = try bench.run(pixels, reduction: nil)   // warm-up: page in weights
            let none = try best(nil)
            Output.write("reducer     keep  visual  encode_ms  reduce_ms  prefill_ms   ttft_ms  speedup  reduce_share\n")
            func line(_ name: String, _ k: String, _ t: ReducerBenchmark.Timing) {
                func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
                Output.write(pad(name, 10) + " " + String(repeating: " ", count: max(0, 5 - k.count)) + k
                             + String(format: "  %6d  %9.0f  %9.1f  %10.0f  %8.0f  %6.2fx  %11.2f%%\n", t.visualTokens,
                                    t.encode * 1000, t.reduce * 1000, t.prefill * 1000, t.total * 1000, none.total / t.total,
                                    100 * t.reduce / t.total))
            }
            line("none", "-", none)
            for (label, budget) in budgets {
                for name in names {
                    let reducer = try ReducerRegistry.make(name: name, options: [], seed: 1, encoderLayers: bench.encoder.layerCount)
                    line(name, label, try best(TokenReduction(reducer: reducer, budget: budget)))
                }
            }
        }
    }

    /// DyCoke against no reduction on a video of `frames` frames. One frame is really encoded
    /// (its time is reported; it is the same with and without DyCoke); the other frames are that
    /// frame's tokens plus noise of 10% of their scale at a random fifth of the positions, so that
    /// frames differ where things "move", as in real video.
    func runVideo(_ bench: ReducerBenchmark, pixels: PixelBatch, frames: Int, rng: inout SeededGenerator) throws {
        let t0 = ProcessStats.now
        let (frame, pooledSide) = try bench.encodeVideoFrame(pixels)
        let encodeSeconds = ProcessStats.now - t0
        let d = bench.decoder.config.hiddenSize, n = pooledSide * pooledSide
        var tokens = [Float](); tokens.reserveCapacity(frames * n * d)
        for _ in 0..<frames {
            for i in 0..<n {
                let moved = rng.nextUnit() < 0.2
                for j in 0..<d { tokens.append(frame[i * d + j] * (1 + (moved ? (rng.nextUnit() * 2 - 1) * 0.1 : 0))) }
            }
        }
        let opts = dycoke.split(separator: ",").map(String.init).filter { !$0.isEmpty }
        guard let reducer = try ReducerRegistry.make(name: "dycoke", options: opts, seed: 1, encoderLayers: 27) as? any TemporalTokenReducer else {
            throw VLMError.runtime("dycoke is not a temporal reducer")
        }
        Log.info(String(format: "one frame encoded in %.0f ms (x%d frames for both runs, not in the figures below)", encodeSeconds * 1000, frames))
        Output.write("run      visual  prefill_ms  decode_tok_s  generated  kv_cache_bytes  keep_set_recomputed\n")
        var results: [ReducerBenchmark.VideoTiming] = []
        for (name, r) in [("none", nil), ("dycoke", reducer)] as [(String, (any TemporalTokenReducer)?)] {
            let t = try bench.runVideo(frameTokens: tokens, frames: frames, tokensPerFrame: n, temporal: r, genTokens: genTokens)
            results.append(t)
            Output.write(String(format: "%-7@ %7d  %10.0f  %12.2f  %9d  %14d  %d\n", name, t.visualTokens, (t.merge + t.prefill) * 1000,
                                t.decodeTokensPerSecond, t.generated, t.kvCacheBytes, t.recomputations))
        }
        Output.write(String(format: "dycoke vs none: TTFT (LLM part) %.2fx faster, decode %.2fx faster; predicted visual tokens %d\n",
                            (results[0].merge + results[0].prefill) / (results[1].merge + results[1].prefill),
                            results[1].decodeTokensPerSecond / max(results[0].decodeTokensPerSecond, 1e-9),
                            reducer.mergedCount(frames: frames, tokensPerFrame: n)))
    }
}
