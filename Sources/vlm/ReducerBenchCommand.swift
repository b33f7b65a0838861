import ArgumentParser
import Foundation
import Prune
import Vision
import VLMRuntime

/// `vlm bench-reducers`: time to first token for each reducer at given budgets against no
/// reduction, in one run, on a LLaVA-OneVision-0.5B-shaped model with random weights (one
/// 384-px image, 729 visual tokens). Prints a table with each reducer's own cost.
struct ReducerBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-reducers", abstract: "Time to first token per reducer on a LLaVA-OneVision-0.5B-shaped model.")

    @Option(help: "Budgets (tokens kept), comma-separated.") var keep = "64,192"
    @Option(help: "Reducers, comma-separated.") var reducers = "random,pool,divprune,visionzip,hiprune,flextok"
    @Option(help: "Timed repetitions per configuration; the best is reported.") var repeats = 1
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?

    func run() throws {
        try CommandRunner.run(json: false) {
            Parallel.threadCount = threads ?? System.coreCount
            let budgets = keep.split(separator: ",").compactMap { Int($0) }
            let names = reducers.split(separator: ",").map(String.init)
            Log.info("building a random LLaVA-OneVision-0.5B-shaped model (SigLIP-so400m 384 px + Qwen2-0.5B, float32)...")
            let bench = try ReducerBenchmark.onevision05B()
            let side = bench.encoder.config.imageSize
            var rng = SeededGenerator(seed: 9)
            let pixels = PixelBatch(data: (0..<(3 * side * side)).map { _ in rng.nextUnit() * 2 - 1 }, count: 1, height: side, width: side)
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
            for k in budgets {
                for name in names {
                    let reducer = try ReducerRegistry.make(name: name, options: [], seed: 1, encoderLayers: bench.encoder.layerCount)
                    line(name, String(k), try best(TokenReduction(reducer: reducer, budget: .tokens(k))))
                }
            }
        }
    }
}
