import Foundation
import Prune
import Vision
import VLMRuntime

/// One OpenAI-style chat completion request, reduced to what `vlm` runs: the text and media of
/// the last user message, and the options (OpenAI's plus vlm's extra body fields: reducer,
/// keep, keep_ratio, reducer_opt, kv_cache, frames, fps).
struct ChatRequest {
    enum Media { case image(URLReference), video(URLReference) }
    struct URLReference { let url: String }

    var text: String
    var media: [Media]
    var stream: Bool

    struct Invalid: Error { let message: String }

    init(json data: Data) throws {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw Invalid(message: "the body is not a JSON object")
        }
        guard let messages = root["messages"] as? [[String: Any]], !messages.isEmpty else {
            throw Invalid(message: "'messages' must be a non-empty array")
        }
        guard let user = messages.last(where: { ($0["role"] as? String) == "user" }) else {
            throw Invalid(message: "no message with role 'user'")
        }
        var texts: [String] = [], media: [Media] = []
        if let content = user["content"] as? String {
            texts.append(content)
        } else if let parts = user["content"] as? [[String: Any]] {
            for part in parts {
                switch part["type"] as? String {
                case "text":
                    guard let t = part["text"] as? String else { throw Invalid(message: "a text part has no 'text'") }
                    texts.append(t)
                case "image_url":
                    guard let u = (part["image_url"] as? [String: Any])?["url"] as? String ?? part["image_url"] as? String else {
                        throw Invalid(message: "an image_url part has no url")
                    }
                    media.append(.image(URLReference(url: u)))
                case "video_url", "video":
                    let holder = part["video_url"] ?? part["video"]
                    guard let u = (holder as? [String: Any])?["url"] as? String ?? holder as? String else {
                        throw Invalid(message: "a video part has no url")
                    }
                    media.append(.video(URLReference(url: u)))
                default:
                    throw Invalid(message: "unsupported content part type '\(part["type"] as? String ?? "none")'")
                }
            }
        } else {
            throw Invalid(message: "the user message's 'content' must be a string or an array of parts")
        }
        guard media.count <= 1 else { throw Invalid(message: "one image or video per request is supported") }
        text = texts.joined(separator: "\n")
        guard !text.isEmpty || !media.isEmpty else { throw Invalid(message: "the user message is empty") }
        if text.isEmpty { text = DescribeCommand.defaultPrompt }
        self.media = media
        stream = root["stream"] as? Bool ?? false

        body = root
    }

    /// The whole request object, for `options(over:)`.
    private let body: [String: Any]

    /// The server's options with this request's fields applied, validated by the same rules
    /// as the command line (a violation is an `Invalid`, answered 400). Fields: OpenAI's
    /// `max_tokens`/`max_completion_tokens`, `temperature`, `top_p`, `seed`, `stop` (a string
    /// or a list), and vlm's `reducer`, `keep`, `keep_ratio`, `reducer_opt` (a list of
    /// "key=value" or an object), `kv_cache`, `frames`, `fps`.
    ///
    /// A request that names a reducer replaces the server's reducer and its options; the
    /// server's budget (`--keep`/`--keep-ratio`) stays unless the request gives its own, or the
    /// new reducer sizes itself or is `none`. A request's `keep` replaces a default
    /// `keep_ratio` and the other way round; `frames` and `fps` likewise.
    func options(over defaults: PipelineOptions) throws -> PipelineOptions {
        var o = defaults
        func number(_ key: String) throws -> Double? {
            guard let v = body[key], !(v is NSNull) else { return nil }
            if let n = v as? NSNumber, !(v is Bool) { return n.doubleValue }
            if let t = v as? String, let n = Double(t) { return n }
            throw Invalid(message: "'\(key)' must be a number")
        }
        func integer(_ key: String) throws -> Int? {
            guard let x = try number(key) else { return nil }
            guard x.rounded() == x, abs(x) < 1e15 else { throw Invalid(message: "'\(key)' must be an integer") }
            return Int(x)
        }
        func string(_ key: String) throws -> String? {
            guard let v = body[key], !(v is NSNull) else { return nil }
            guard let t = v as? String else { throw Invalid(message: "'\(key)' must be a string") }
            return t
        }
        if let n = try integer("max_tokens") ?? integer("max_completion_tokens") { o.maxTokens = n }
        if let t = try number("temperature") { o.sampling.temperature = Float(t) }
        if let p = try number("top_p") { o.sampling.topP = Float(p) }
        if let seed = try integer("seed") {
            guard seed >= 0 else { throw Invalid(message: "'seed' must be >= 0") }
            o.sampling.seed = UInt64(seed)
        }
        if let stop = body["stop"] as? String { o.stop = [stop] } else if let stops = body["stop"] as? [String] { o.stop = stops }
        if let reducer = try string("reducer") {
            o.reducer = reducer
            o.reducerOptions = []
            if let type = try? ReducerRegistry.type(named: reducer), type.sizesItself || reducer == "none" { o.keep = nil; o.keepRatio = nil }
        }
        if let keep = try integer("keep") { o.keep = keep; o.keepRatio = nil }
        if let ratio = try number("keep_ratio") { o.keepRatio = ratio; o.keep = nil }
        if let opts = body["reducer_opt"] as? [String] { o.reducerOptions = opts }
        if let opts = body["reducer_opt"] as? [String: Any] {
            o.reducerOptions = opts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        }
        if let kv = try string("kv_cache") {
            guard let type = KVCacheType(rawValue: kv) else {
                throw Invalid(message: "kv_cache must be one of: \(KVCacheType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            o.kvCache = type
        }
        if let frames = try integer("frames") { o.frames = frames; o.fps = nil }
        if let fps = try number("fps") { o.fps = fps; o.frames = nil }
        do { try o.validate() } catch let e as VLMError {
            throw Invalid(message: e.description.replacingOccurrences(of: "usage: ", with: ""))
        }
        return o
    }
}
