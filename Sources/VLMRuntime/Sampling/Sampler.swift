#if canImport(Glibc)
import Glibc
#endif

/// How the next token is chosen from the logits. Temperature 0 is greedy (argmax, the first
/// index on ties, as torch.argmax). Otherwise the filters apply in llama.cpp's order:
/// repetition penalty, top-k, top-p, min-p, then temperature, then a draw.
public struct SamplingOptions: Sendable, Equatable {
    public var temperature: Float = 0
    public var topK: Int = 0             // 0: off
    public var topP: Float = 1           // 1: off
    public var minP: Float = 0           // 0: off
    public var repetitionPenalty: Float = 1  // 1: off
    /// How many most recent tokens the repetition penalty looks at.
    public var repetitionWindow: Int = 64
    public var seed: UInt64 = 0

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature; self.topK = topK; self.topP = topP; self.minP = minP
        self.repetitionPenalty = repetitionPenalty; self.seed = seed
    }

    public func validate() throws {
        guard temperature >= 0, temperature.isFinite else { throw VLMError.usage("--temperature must be >= 0") }
        guard topK >= 0 else { throw VLMError.usage("--top-k must be >= 0") }
        guard topP > 0, topP <= 1 else { throw VLMError.usage("--top-p must be in (0, 1]") }
        guard minP >= 0, minP < 1 else { throw VLMError.usage("--min-p must be in [0, 1)") }
        guard repetitionPenalty > 0 else { throw VLMError.usage("--repeat-penalty must be > 0") }
    }
}

public struct Sampler {
    public let options: SamplingOptions
    private var rng: SeededGenerator

    public init(_ options: SamplingOptions) {
        self.options = options
        rng = SeededGenerator(seed: options.seed)
    }

    /// Picks the next token from `logits` (modified in place by the penalty), given the tokens
    /// so far for the repetition penalty.
    public mutating func sample(_ logits: inout [Float], history: [Int32]) -> Int32 {
        let o = options
        if o.repetitionPenalty != 1 {
            // CTRL-style penalty as in transformers and llama.cpp: divide positive logits,
            // multiply negative ones, once per distinct recent token.
            var seen = Set<Int32>()
            for t in history.suffix(o.repetitionWindow) where seen.insert(t).inserted && Int(t) < logits.count {
                let l = logits[Int(t)]
                logits[Int(t)] = l > 0 ? l / o.repetitionPenalty : l * o.repetitionPenalty
            }
        }
        if o.temperature == 0 { return Int32(Sampler.argmax(logits)) }

        // Candidates sorted by logit, cut by top-k early so later steps sort little.
        var candidates: [(id: Int32, logit: Float)]
        let k = o.topK > 0 ? min(o.topK, logits.count) : logits.count
        candidates = logits.enumerated().map { (Int32($0.offset), $0.element) }
        if k < candidates.count {
            candidates = Array(candidates.sorted { $0.logit > $1.logit }.prefix(k))
        } else {
            candidates.sort { $0.logit > $1.logit }
        }
        // Probabilities at temperature 1 for top-p/min-p (llama.cpp applies temperature last).
        let maxLogit = candidates[0].logit
        var probs = candidates.map { expf($0.logit - maxLogit) }
        var total = probs.reduce(0, +)
        var keep = candidates.count
        if o.topP < 1 {
            var cumulative: Float = 0
            for i in 0..<keep {
                cumulative += probs[i] / total
                if cumulative >= o.topP { keep = i + 1; break }
            }
        }
        if o.minP > 0 {
            let threshold = o.minP * probs[0]
            var i = 1
            while i < keep && probs[i] >= threshold { i += 1 }
            keep = i
        }
        candidates.removeSubrange(keep...)
        probs = candidates.map { expf(($0.logit - maxLogit) / o.temperature) }
        total = probs.reduce(0, +)
        var r = rng.nextUnit() * total
        for (i, p) in probs.enumerated() {
            r -= p
            if r < 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }

    /// Index of the largest value; the first one on ties.
    public static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in 1..<x.count where x[i] > x[best] { best = i }
        return best
    }
}
