import Foundation
import Prune
import VLMRuntime

/// One OpenAI-style chat completion request: the conversation for the chat template (every
/// message, with image and video parts as `{"type": "image"}` / `{"type": "video"}` the way
/// transformers' processors rewrite `image_url`), the media those parts stand for, in order,
/// and the options (OpenAI's plus vlm's extra body fields: reducer, keep, keep_ratio,
/// reducer_opt, kv_cache, frames, fps).
/// In the library, not the server, so that it can be fuzzed (fuzz/FuzzChatRequest) and tested
/// apart from HTTP: it parses untrusted bytes.
public struct ChatRequest {
    public enum Media { case image(URLReference), video(URLReference) }
    public struct URLReference {
        public let url: String

        /// The bytes of a `data:TYPE;base64,...` URL; nil for any other URL. Throws on a data:
        /// URL that is not base64.
        public func inlineData() throws -> Data? {
            guard url.hasPrefix("data:") else { return nil }
            guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64"),
                  let data = Data(base64Encoded: String(url[url.index(after: comma)...]), options: .ignoreUnknownCharacters) else {
                throw VLMError.badInput("a data: URL must be base64 (data:TYPE;base64,...)")
            }
            return data
        }
    }

    /// Images and videos one request may carry.
    public static let maxMedia = 8

    public var conversation: [ChatMessage]
    public var media: [Media]
    /// The last user message's text, for the result record.
    public var text: String
    public var stream: Bool

    public struct Invalid: Error { public let message: String }

    public init(json data: Data) throws {
        // Parsed with JSON's types kept apart and members in order, as the template needs them
        // (Foundation on Linux would read a JSON 1 as a value that also casts to Bool).
        guard case .dict(let fields)? = try? JinjaValue.parseJSON(String(decoding: data, as: UTF8.self)) else {
            throw Invalid(message: "the body is not a JSON object")
        }
        guard case .list(let messages)? = fields["messages"], !messages.isEmpty else {
            throw Invalid(message: "'messages' must be a non-empty array")
        }
        var media: [Media] = []
        conversation = try messages.map { try Self.message($0, media: &media) }
        guard conversation.contains(where: { $0.role == "user" }) else { throw Invalid(message: "no message with role 'user'") }
        guard media.count <= Self.maxMedia else { throw Invalid(message: "at most \(Self.maxMedia) images and videos per request") }
        self.media = media
        text = Self.text(of: conversation.last { $0.role == "user" }!)
        guard !text.isEmpty || !media.isEmpty else { throw Invalid(message: "the user message is empty") }
        if case .bool(let b)? = fields["stream"] { stream = b } else { stream = false }
        self.fields = fields
    }

    /// One message for the template: string content kept, parts normalised (text, image, video),
    /// every other field (name, tool_calls...) kept as sent.
    private static func message(_ value: JinjaValue, media: inout [Media]) throws -> ChatMessage {
        guard case .dict(var d) = value, case .string(let role)? = d["role"] else { throw Invalid(message: "each message needs a string 'role'") }
        switch d["content"] {
        case .string?, .none?, nil: break
        case .list(let parts)?:
            d["content"] = .list(try parts.map { try part($0, media: &media) })
        default:
            throw Invalid(message: "the \(role) message's 'content' must be a string or an array of parts")
        }
        return try ChatMessage(value: .dict(d))
    }

    private static func part(_ value: JinjaValue, media: inout [Media]) throws -> JinjaValue {
        guard case .dict(let p) = value, case .string(let type)? = p["type"] else { throw Invalid(message: "a content part needs a 'type'") }
        func url(_ key: String) -> String? {
            if case .string(let u)? = p[key] { return u }
            if case .dict(let holder)? = p[key], case .string(let u)? = holder["url"] { return u }
            return nil
        }
        switch type {
        case "text":
            guard case .string? = p["text"] else { throw Invalid(message: "a text part has no 'text'") }
            return value
        case "image_url", "image":
            guard let u = url("image_url") ?? url("url") ?? url("image") else { throw Invalid(message: "an image_url part has no url") }
            media.append(.image(URLReference(url: u)))
            return ChatMessage.Part.image.value
        case "video_url", "video":
            guard let u = url("video_url") ?? url("url") ?? url("video") else { throw Invalid(message: "a video part has no url") }
            media.append(.video(URLReference(url: u)))
            return ChatMessage.Part.video.value
        default:
            throw Invalid(message: "unsupported content part type '\(type)'")
        }
    }

    /// A message's text: its string content, or its text parts joined by newlines.
    private static func text(of message: ChatMessage) -> String {
        guard case .dict(let d) = message.value else { return "" }
        if case .string(let s)? = d["content"] { return s }
        guard case .list(let parts)? = d["content"] else { return "" }
        return parts.compactMap { p -> String? in
            if case .dict(let x) = p, case .string(let t)? = x["text"] { return t }
            return nil
        }.joined(separator: "\n")
    }

    /// The whole request object, with JSON's types (for `options(over:)`).
    private let fields: JinjaDict

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
    public func options(over defaults: PipelineOptions) throws -> PipelineOptions {
        var o = defaults
        func number(_ key: String) throws -> Double? {
            switch fields[key] {
            case nil, .none?: return nil
            case .int(let i)?: return Double(i)
            case .float(let d)?: return d
            case .string(let t)?: if let n = Double(t) { return n }
            default: break
            }
            throw Invalid(message: "'\(key)' must be a number")
        }
        func integer(_ key: String) throws -> Int? {
            guard let x = try number(key) else { return nil }
            guard x.rounded() == x, abs(x) < 1e15 else { throw Invalid(message: "'\(key)' must be an integer") }
            return Int(x)
        }
        func string(_ key: String) throws -> String? {
            switch fields[key] {
            case nil, .none?: return nil
            case .string(let t)?: return t
            default: throw Invalid(message: "'\(key)' must be a string")
            }
        }
        if let n = try integer("max_tokens") ?? integer("max_completion_tokens") { o.maxTokens = n }
        if let t = try number("temperature") { o.sampling.temperature = Float(t) }
        if let p = try number("top_p") { o.sampling.topP = Float(p) }
        if let seed = try integer("seed") {
            guard seed >= 0 else { throw Invalid(message: "'seed' must be >= 0") }
            o.sampling.seed = UInt64(seed)
        }
        if case .string(let stop)? = fields["stop"] { o.stop = [stop] } else if let stops = Self.strings(fields["stop"]) { o.stop = stops }
        if let reducer = try string("reducer") {
            o.reducer = reducer
            o.reducerOptions = []
            if let type = try? ReducerRegistry.type(named: reducer), type.sizesItself || reducer == "none" { o.keep = nil; o.keepRatio = nil }
        }
        if let keep = try integer("keep") { o.keep = keep; o.keepRatio = nil }
        if let ratio = try number("keep_ratio") { o.keepRatio = ratio; o.keep = nil }
        if let opts = Self.strings(fields["reducer_opt"]) { o.reducerOptions = opts }
        if case .dict(let opts)? = fields["reducer_opt"] {
            o.reducerOptions = opts.pairs.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.optionText($0.value))" }
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

    /// A JSON array of strings, or nil.
    private static func strings(_ v: JinjaValue?) -> [String]? {
        guard case .list(let items)? = v else { return nil }
        let texts = items.compactMap(\.stringValue)
        return texts.count == items.count ? texts : nil
    }

    /// A `reducer_opt` object's value as `key=value` text: strings as they are, numbers and
    /// booleans as JSON writes them.
    private static func optionText(_ v: JinjaValue) -> String {
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return String(d)
        case .bool(let b): return b ? "true" : "false"
        default: return v.pythonStr
        }
    }
}
