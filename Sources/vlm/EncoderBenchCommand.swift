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

    static var shapeNames: [String] { (Array(ViTConfig.presets.keys) + Array(QwenVisionConfig.presets.keys)).sorted() }
    @Option(help: "Encoder shape: \(shapeNames.joined(separator: ", ")).") var shape = "siglip-b16-512"
    @Option(help: "Timed repetitions; the best and the median are reported.") var repeats = 3
    @Option(help: "Worker threads (default: the number of cores).") var threads: Int?
    @Flag(name: .customLong("vision-bf16"), help: "Vision linear layers in bfloat16 on CPUs with AVX-512-BF16.") var visionBF16 = false
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        try CommandRunner.run(json: false) {
            guard repeats >= 1 else { throw VLMError.usage("--repeats must be at least 1") }
            Parallel.threadCount = threads ?? System.coreCount
            if visionBF16 { BF16Weights.requested = true }
            if let qwen = QwenVisionConfig.presets[shape] { return try benchQwen(qwen.config, width: qwen.width, height: qwen.height) }
            guard let config = ViTConfig.presets[shape] else {
                throw VLMError.usage("unknown --shape \(shape) (one of: \(Self.shapeNames.joined(separator: ", ")))")
            }
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
            report(tokens: tokens, times: times, gflop: gflop)
        }
    }

    /// A Qwen-VL tower and its mergers at `width x height` (sides smart-resized as its
    /// processor would) with random weights: one frame-group, patch embedding to the merged
    /// tokens, as transformers' vision model runs.
    func benchQwen(_ c: QwenVisionConfig, width: Int, height: Int) throws {
        let (h, w) = try QwenVLProcessor.smartResize(height: height, width: width, factor: c.patchSize * c.mergeSize,
                                                     minPixels: 1, maxPixels: 1 << 30)
        let bench = try QwenTowerBenchmark(c)
        var rng = SeededGenerator(seed: 7)
        let pixels = PixelBatch(data: (0..<(3 * h * w)).map { _ in rng.nextUnit() * 2 - 1 }, count: 1, height: h, width: w)
        try bench.run(pixels)   // warm-up
        var times: [Double] = []
        for _ in 0..<repeats {
            let t0 = ProcessStats.now
            try bench.run(pixels)
            times.append(ProcessStats.now - t0)
        }
        times.sort()
        let t = Double((h / c.patchSize) * (w / c.patchSize)), d = Double(c.hiddenSize), m = Double(c.intermediateSize)
        let window = Double(c.windowSize / c.patchSize * c.windowSize / c.patchSize)
        var gflop = bench.mergerGFLOP(patches: Int(t))
        for layer in 0..<c.layerCount {
            let mlp = (c.variant == .qwen2_5 ? 3 : 2) * m * d
            gflop += (2 * t * (4 * d * d + mlp) + 4 * t * (c.isWindowed(layer) ? min(window, t) : t) * d) / 1e9
        }
        report(tokens: Int(t), times: times, gflop: gflop, size: "\(w)x\(h)")
    }

    func report(tokens: Int, times: [Double], gflop: Double, size: String? = nil) {
        if json {
            Output.write(String(format: "{\"shape\":\"%@\",\"threads\":%d,\"tokens\":%d,\"best_s\":%.4f,\"median_s\":%.4f,\"gflop\":%.1f}\n",
                                shape, Parallel.threadCount, tokens, times[0], times[times.count / 2], gflop))
        } else {
            Output.write(String(format: "%@%@: %d tokens, best %.3f s, median %.3f s per image (%.1f GFLOP, %.1f GFLOP/s, %d threads)\n",
                                shape, size.map { " at " + $0 } ?? "", tokens, times[0], times[times.count / 2], gflop, gflop / times[0], Parallel.threadCount))
        }
    }
}
