/// The generation loop: prefill a prompt into a KV cache, then sample one token at a time until
/// an end-of-sequence token, a stop string, or the token limit. Text is handed out as complete
/// UTF-8 pieces while it is generated, and the stage timings are recorded for the JSON result.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int = 256
    public var sampling = SamplingOptions()
    /// Generation ends when the text contains one of these; the stop string is not returned.
    public var stopStrings: [String] = []
    public init(maxTokens: Int = 256, sampling: SamplingOptions = SamplingOptions(), stopStrings: [String] = []) {
        self.maxTokens = maxTokens; self.sampling = sampling; self.stopStrings = stopStrings
    }
}

public struct GenerationResult: Sendable {
    public enum StopReason: String, Sendable { case endOfSequence = "eos", stopString = "stop", length, cancelled }
    public var text: String
    public var tokens: [Int32]
    public var promptTokenCount: Int
    public var stopReason: StopReason
    public var prefillSeconds: Double
    public var generateSeconds: Double
    public var kvCacheBytes: Int

    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptTokenCount) / prefillSeconds : 0 }
    /// Decode speed over the tokens after the first (the first comes out of the prefill pass).
    public var decodeTokensPerSecond: Double {
        tokens.count > 1 && generateSeconds > 0 ? Double(tokens.count - 1) / generateSeconds : 0
    }
}

public struct TextGenerator {
    public let model: DecoderModel
    public let tokenizer: any Tokenizer

    public init(model: DecoderModel, tokenizer: any Tokenizer) {
        self.model = model; self.tokenizer = tokenizer
    }

    /// Generates from `promptTokens` appended to whatever `cache` holds. `onText` receives each
    /// new piece of text as soon as it is complete (never a split UTF-8 character, never part
    /// of a pending stop string).
    /// Generates after `promptTokens`. `promptEmbeddings` (tokens x hidden), when given, is what
    /// prefill reads instead of the tokens' embeddings: a VLM prompt with visual tokens spliced in.
    /// `isCancelled` is asked before each decode step (a server's client went away, a deadline
    /// passed); a true answer ends generation with `.cancelled`.
    /// `positions`, `injection` and `bidirectional` (multimodal RoPE, DeepStack, Gemma 3's image
    /// runs) go to the prefill pass; decoding then continues from `positions.next`.
    public func generate(promptTokens: [Int32], promptEmbeddings: [Float]? = nil, cache: KVCache,
                         positions: TokenPositions? = nil, injection: LayerInjection? = nil,
                         bidirectional: [Range<Int>] = [], options: GenerationOptions, isCancelled: () -> Bool = { false },
                         onText: (String) -> Void = { _ in }) throws -> GenerationResult {
        guard !promptTokens.isEmpty else { throw VLMError.usage("the prompt is empty") }
        var sampler = Sampler(options.sampling)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var stops = StopStringMatcher(options.stopStrings)
        var history = promptTokens
        var generated: [Int32] = []
        var text = ""
        var reason = GenerationResult.StopReason.length

        let t0 = ProcessStats.now
        var logits: [Float]
        if var embeddings = promptEmbeddings {
            logits = try model.forward(embeddings: &embeddings, rows: promptTokens.count, cache: cache, logits: .last,
                                       positions: positions, injection: injection, bidirectional: bidirectional)
        } else {
            logits = try model.forward(tokens: promptTokens, cache: cache, logits: .last)
        }
        let t1 = ProcessStats.now

        while generated.count < options.maxTokens {
            if isCancelled() { reason = .cancelled; break }
            let next = sampler.sample(&logits, history: history)
            if tokenizer.eosIDs.contains(next) { reason = .endOfSequence; break }
            generated.append(next)
            history.append(next)
            let (emit, stopped) = stops.feed(detokenizer.push(next))
            if !emit.isEmpty { text += emit; onText(emit) }
            if stopped { reason = .stopString; break }
            if generated.count == options.maxTokens { break }
            logits = try decodeStep(next, cache: cache, position: positions.map { $0.next + Int32(generated.count - 1) })
        }
        if reason != .stopString {
            let (emit, _) = stops.feed(detokenizer.flush())
            let rest = emit + stops.flush()
            if !rest.isEmpty { text += rest; onText(rest) }
        }
        let t2 = ProcessStats.now
        return GenerationResult(text: text, tokens: generated, promptTokenCount: promptTokens.count,
                                stopReason: reason, prefillSeconds: t1 - t0, generateSeconds: t2 - t1,
                                kvCacheBytes: cache.storedBytes)
    }

    /// One decode step; at `position` on every axis when the prompt had its own positions.
    private func decodeStep(_ token: Int32, cache: KVCache, position: Int32?) throws -> [Float] {
        guard let position else { return try model.forward(tokens: [token], cache: cache, logits: .last) }
        var x = [Float](repeating: 0, count: model.config.hiddenSize)
        try x.withUnsafeMutableBufferPointer { try model.embed([token], into: $0.baseAddress!) }
        return try model.forward(embeddings: &x, rows: 1, cache: cache, logits: .last,
                                 positions: .sequential(start: position, count: 1))
    }
}
