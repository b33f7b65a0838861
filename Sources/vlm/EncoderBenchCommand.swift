import ArgumentParser
import Foundation
import VLMRuntime
import Vision

/// `vlm bench-encoder --shape siglip-b16-512`: seconds to encode one image with a ViT of a
/// published model's shape (random float32 weights: the arithmetic is what is measured).
/// tools/bench_encoders.py runs transformers on the same shapes in the same run.
struct EncoderBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-encoder", abstract: "Measure vision-encoder time per image on a published encoder shape.")

    @Option(help: "Encoder shape: \(ViTConfig.presets.keys.sorted().joined(separator: ", ")).") var shape = "siglip-b16-512"
    @Option(help: "Timed repetitions; the best and the median are reported.") var repeats = 3
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try CommandRunner.run(json: false) {
            guard let config = ViTConfig.presets[shape] else {
                throw VLMError.usage("unknown --shape \(shape) (one of: \(ViTConfig.presets.keys.sorted().joined(separator: ", ")))")
            }
            guard repeats >= 1 else { throw VLMError.usage("--repeats must be at least 1") }
            Parallel.threadCount = threads ?? System.coreCount
            let encoder = try ViTEncoder.random(config)
            let side = config.imageSize
            var rng = SeededGenerator(seed: 7)
            let pixels = PixelBatch(data: (0..<(3 * side * side)).map { _ in rng.nextUnit() * 2 - 1 }, count: 1, height: side, width: side)
            let request = EncoderRequest(featureLayer: -1, applyPostLayerNorm: true)
            _ = try encoder.encode(pixels, index: 0, request: request)   // warm-up: page in weights, size buffers
            var times: [Double] = []
            for _ in 0..<repeats {
                let t0 = ProcessStats.now
                _ = try encoder.encode(pixels, index: 0, request: request)
                times.append(ProcessStats.now - t0)
            }
            times.sort()
            let tokens = config.patchesPerSide * config.patchesPerSide + (config.hasClassToken ? 1 : 0)
            let d = Double(config.hiddenSize), t = Double(tokens), m = Double(config.intermediateSize)
            let gflop = Double(config.layerCount) * (2 * t * d * (4 * d + 2 * m) + 4 * t * t * d) / 1e9
            if json {
                Output.write(String(format: "{\"shape\":\"%@\",\"threads\":%d,\"tokens\":%d,\"best_s\":%.4f,\"median_s\":%.4f,\"gflop\":%.1f}\n",
                                    shape, Parallel.threadCount, tokens, times[0], times[times.count / 2], gflop))
            } else {
                Output.write(String(format: "%@: %d tokens, best %.3f s, median %.3f s per image (%.1f GFLOP, %.1f GFLOP/s, %d threads)\n",
                                    shape, tokens, times[0], times[times.count / 2], gflop, gflop / times[0], Parallel.threadCount))
            }
        }
    }
}
