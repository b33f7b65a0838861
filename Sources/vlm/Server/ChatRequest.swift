import Foundation
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
    /// Command-line style arguments for CommonOptions, so that requests are validated by the
    /// same rules as the CLI.
    var arguments: [String]

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

        var args: [String] = []
        func number(_ key: String) -> String? {
            guard let v = root[key] else { return nil }
            if let n = v as? NSNumber { return n.stringValue }
            return v as? String
        }
        for (key, flag) in [("max_tokens", "--max-tokens"), ("max_completion_tokens", "--max-tokens"), ("temperature", "--temperature"),
                            ("top_p", "--top-p"), ("seed", "--seed"), ("keep", "--keep"), ("keep_ratio", "--keep-ratio"),
                            ("frames", "--frames"), ("fps", "--fps")] {
            if let v = number(key) { args += [flag, v] }
        }
        for (key, flag) in [("reducer", "--reducer"), ("kv_cache", "--kv-cache")] {
            if let v = root[key] as? String { args += [flag, v] }
        }
        if let stop = root["stop"] as? String { args += ["--stop", stop] }
        if let stops = root["stop"] as? [String] { for s in stops { args += ["--stop", s] } }
        if let opts = root["reducer_opt"] as? [String] { for o in opts { args += ["--reducer-opt", o] } }
        if let opts = root["reducer_opt"] as? [String: Any] {
            for (k, v) in opts.sorted(by: { $0.key < $1.key }) { args += ["--reducer-opt", "\(k)=\(v)"] }
        }
        arguments = args
    }
}
