import Foundation

/// The JSON result object of ../shared/CONTRACT.md: one per input, printed with `--json` and
/// written as one line per input by `batch`. Keys are spelled exactly as the contract does.
struct ResultRecord: Encodable {
    struct Tokens: Encodable {
        var visual_before = 0, visual_after = 0, prompt = 0, generated = 0
    }
    struct Timings: Encodable {
        var load = 0.0, decode_media = 0.0, encode = 0.0, reduce = 0.0, prefill = 0.0, generate = 0.0, total = 0.0
    }
    struct Throughput: Encodable { var prefill_tok_s = 0.0, decode_tok_s = 0.0 }
    struct Memory: Encodable { var kv_cache_bytes = 0, peak_rss_bytes = 0 }
    struct ErrorInfo: Encodable { var kind: String, message: String }

    var input: String?
    var model: String
    var prompt: String
    var text: String
    var reducer: String = "none"
    var kv_cache: String
    var tokens = Tokens()
    var frames: Int?
    var timings_ms = Timings()
    var throughput = Throughput()
    var memory = Memory()
    var error: ErrorInfo?
    /// `batch` only: identifies (model, prompt, options, input) for `--resume`.
    var key: String?

    private enum CodingKeys: String, CodingKey {
        case input, model, prompt, text, reducer, kv_cache, tokens, frames, timings_ms, throughput, memory, error, key
    }

    /// `input` and `error` are always present (null when absent); `frames` only for videos.
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(input, forKey: .input)
        try c.encode(model, forKey: .model)
        try c.encode(prompt, forKey: .prompt)
        try c.encode(text, forKey: .text)
        try c.encode(reducer, forKey: .reducer)
        try c.encode(kv_cache, forKey: .kv_cache)
        try c.encode(tokens, forKey: .tokens)
        try c.encodeIfPresent(frames, forKey: .frames)
        try c.encode(timings_ms, forKey: .timings_ms)
        try c.encode(throughput, forKey: .throughput)
        try c.encode(memory, forKey: .memory)
        try c.encode(error, forKey: .error)
        try c.encodeIfPresent(key, forKey: .key)
    }

    func jsonLine() -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? e.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
