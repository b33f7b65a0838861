import ArgumentParser
import Prune
import Vision
import VLMRuntime

/// The options every command shares (../shared/CONTRACT.md, "Common options").
struct CommonOptions: ParsableArguments {
    @Option(help: "Model: a .gguf file, a model directory, or an installed name (see `vlm models`).")
    var model: String?

    @Option(help: "A llama.cpp mmproj GGUF (vision tower and projector) for a GGUF --model (see `vlm models`).")
    var mmproj: String?

    @Option(help: "A LoRA adapter GGUF (llama.cpp's format) applied beside the LLM's weights, as FILE or FILE:SCALE (repeatable).")
    var lora: [String] = []

    @Option(help: "KV cache storage: f32, f16, q8, q4, kivi2 or vidkv.")
    var kvCache: String = "f16"

    @Option(help: "Most tokens to generate.")
    var maxTokens: Int = 256

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(help: "Keep only the K most likely tokens (0: off).")
    var topK: Int = 0

    @Option(help: "Nucleus sampling: keep the smallest set with this probability mass (1: off).")
    var topP: Float = 1

    @Option(help: "Drop tokens less likely than this fraction of the most likely one (0: off).")
    var minP: Float = 0

    @Option(help: "Repetition penalty over the last 64 tokens (1: off).")
    var repeatPenalty: Float = 1

    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Option(help: "Stop when the text contains this string (repeatable).")
    var stop: [String] = []

    @Option(help: "Worker threads (default: the number of cores).")
    var threads: Int?

    @Flag(name: .customLong("vision-bf16"), help: "Vision encoders' linear layers in bfloat16 on CPUs with AVX-512-BF16 (about 2x their float32 speed; bf16 precision). Also VLM_VISION_BF16=1.")
    var visionBF16 = false

    @Flag(name: .customLong("pan-and-scan"), help: "Gemma 3: also read crops of wide or tall images (transformers' do_pan_and_scan), whatever the model's processor config says.")
    var panAndScan = false

    @Flag(help: "Print one JSON result object on stdout; logs go to stderr.")
    var json = false

    @Option(help: "Visual-token reducer: \(ReducerRegistry.names.joined(separator: ", ")).")
    var reducer: String = "none"

    @Option(help: "Visual tokens to keep per image, crop, tile or frame (with --reducer).")
    var keep: Int?

    @Option(help: "Fraction of visual tokens to keep per image, crop, tile or frame (with --reducer).")
    var keepRatio: Double?

    @Option(help: "A reducer option as key=value (repeatable), e.g. contextual=10 for visionzip.")
    var reducerOpt: [String] = []

    @Option(help: "Video: frames sampled uniformly over the whole video (default 8).")
    var frames: Int?

    @Option(help: "Video: frames per second of presentation time (instead of --frames).")
    var fps: Double?

    @Option(help: "A system message before the user turn, rendered by the model's chat template.")
    var system: String?

    @Option(help: "Write a PNG of what the encoder saw with the dropped patches dimmed (several inputs: -N suffix).")
    var showKept: String?

    func validate() throws {
        if let t = threads, t < 1 || t > 1024 { throw ValidationError("--threads must be between 1 and 1024") }
        guard KVCacheType(rawValue: kvCache) != nil else {
            throw ValidationError("--kv-cache must be one of: \(KVCacheType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        do { try pipelineOptions.validate() } catch let e as VLMError {
            throw ValidationError(e.description.replacingOccurrences(of: "usage: ", with: ""))
        }
    }

    /// These options as the library pipeline's options value.
    var pipelineOptions: PipelineOptions {
        var o = PipelineOptions()
        o.reducer = reducer; o.keep = keep; o.keepRatio = keepRatio; o.reducerOptions = reducerOpt
        o.kvCache = kvCacheType; o.frames = frames; o.fps = fps
        o.maxTokens = maxTokens; o.sampling = sampling; o.stop = stop; o.system = system
        return o
    }

    var sampling: SamplingOptions {
        SamplingOptions(temperature: temperature, topK: topK, topP: topP, minP: minP,
                        repetitionPenalty: repeatPenalty, seed: seed)
    }

    var kvCacheType: KVCacheType { KVCacheType(rawValue: kvCache) ?? .f16 }

    /// Applies `--threads` to the runtime's worker pool (and `--vision-bf16` and
    /// `--pan-and-scan`, which must also be set before any model loads).
    func applyThreads() {
        let n = threads ?? System.coreCount
        Parallel.threadCount = n
        if visionBF16 { BF16Weights.requested = true }
        if panAndScan { ImageProcessorFactory.panAndScanRequested = true }
    }

    /// A one-line message for an argument error (the server reports them as 400s).
    static func message(for error: Error) -> String {
        let text = fullMessage(for: error)
        return text.split(separator: "\n").first.map(String.init) ?? text
    }
}

extension CommonOptions {
    /// Applies every `--lora` to `decoder` (and so to the siblings it makes afterwards).
    func applyAdapters(to decoder: DecoderModel) throws {
        try LoRAOption.apply(lora, to: decoder)
    }
}

/// `--lora FILE[:SCALE]`, shared by the commands with and without the common options.
enum LoRAOption {
    static func apply(_ arguments: [String], to decoder: DecoderModel) throws {
        for argument in arguments {
            let (path, scale) = try LoRAAdapter.parse(argument)
            guard ModelLocator.fileExists(path) else { throw VLMError.badInput("--lora \(path): no such file") }
            try decoder.apply(LoRAAdapter(path: path, scale: scale, for: decoder.config))
        }
    }
}
