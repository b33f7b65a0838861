import Prune
import Video
import VLMRuntime

/// Everything a request may choose about how the pipeline runs, as one value: the CLI fills it
/// from its flags, the server from its command line and then from each request's JSON fields,
/// and a library user sets it directly. `validate()` holds the rules all of them share.
public struct PipelineOptions: Sendable {
    /// `--reducer` name (ReducerRegistry), `none` for no reduction.
    public var reducer = "none"
    /// Visual tokens kept per image, crop, tile or frame; or the fraction of them.
    public var keep: Int?
    public var keepRatio: Double?
    /// `--reducer-opt key=value` items.
    public var reducerOptions: [String] = []
    public var kvCache: KVCacheType = .f16
    /// Video sampling: this many frames over the whole video (default 8), or frames per second.
    public var frames: Int?
    public var fps: Double?
    public var maxTokens = 256
    public var sampling = SamplingOptions()
    public var stop: [String] = []
    /// Use the prompt text as it is (no chat template around it).
    public var raw = false
    /// A system message before the user turn of a text prompt.
    public var system: String?

    public init() {}

    /// The command line's rules, as usage errors (exit code 2; the server answers 400).
    public func validate() throws {
        guard maxTokens >= 0 else { throw VLMError.usage("--max-tokens must be >= 0") }
        try sampling.validate()
        let type = try ReducerRegistry.type(named: reducer)
        _ = try ReducerRegistry.make(name: reducer, options: reducerOptions, seed: sampling.seed, encoderLayers: 24)
        if frames != nil && fps != nil { throw VLMError.usage("give --frames or --fps, not both") }
        if let frames, frames < 1 || frames > 10_000 { throw VLMError.usage("--frames must be between 1 and 10000") }
        if let fps, !(fps > 0 && fps <= 240) { throw VLMError.usage("--fps must be in (0, 240]") }
        if keep != nil && keepRatio != nil { throw VLMError.usage("give --keep or --keep-ratio, not both") }
        if let keep, keep < 1 { throw VLMError.usage("--keep must be at least 1") }
        if let r = keepRatio, !(r > 0 && r <= 1) { throw VLMError.usage("--keep-ratio must be in (0, 1]") }
        let budgeted = keep != nil || keepRatio != nil
        if type.sizesItself && budgeted {
            throw VLMError.usage("--reducer \(reducer) sets its own token count (see --reducer-opt); drop --keep/--keep-ratio")
        }
        if reducer != "none" && !type.sizesItself && !budgeted { throw VLMError.usage("--reducer \(reducer) needs --keep K or --keep-ratio R") }
        if reducer == "none" && budgeted { throw VLMError.usage("--keep and --keep-ratio need a --reducer") }
    }

    /// The reducer and budget for a model whose encoder has `encoderLayers` layers; nil for `none`.
    public func reduction(encoderLayers: Int) throws -> TokenReduction? {
        try TokenReduction.make(name: reducer, options: reducerOptions, seed: sampling.seed, keep: keep, keepRatio: keepRatio,
                                encoderLayers: encoderLayers)
    }

    public var generation: GenerationOptions {
        GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stop)
    }

    /// How video frames are sampled.
    public var frameSampling: FrameSampling { fps.map { .fps($0) } ?? .count(frames ?? 8) }
}
