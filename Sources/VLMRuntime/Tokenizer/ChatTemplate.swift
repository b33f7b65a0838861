/// Chat prompt formats of the supported families, reproducing character for character what
/// transformers' `apply_chat_template(messages, add_generation_prompt: ...)` renders with each
/// family's own Jinja template (Tests/VLMRuntimeTests/Fixtures/chat_templates.json holds those
/// renderings, made by tools/make_tokenizer_fixtures.py).
///
/// There is deliberately no Jinja engine: templates are programs, most models of a family share
/// one, and a small interpreter would still miss filters and tests of real templates. Instead the
/// family is recognised from the template text stored with the model (or from its architecture
/// when there is none), and anything unrecognised falls back to `.plain` with a warning for the
/// caller to show.
public struct ChatMessage: Sendable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\n...<|im_end|>\n` per message, `<|im_start|>assistant\n` to generate.
    /// SmolLM2 ("You are a helpful AI assistant named SmolLM, trained by Hugging Face") and Qwen2
    /// ("You are a helpful assistant.") insert a default system message when the conversation
    /// does not start with one; `defaultSystem` is that text, read from the template.
    case chatML(defaultSystem: String?)
    /// Gemma 2/3: `<bos><start_of_turn>user\n...<end_of_turn>\n`, assistant turns as "model",
    /// contents trimmed; a system message becomes the start of the first user turn.
    case gemma
    /// Llama 3(.0): `<|begin_of_text|>` then `<|start_header_id|>role<|end_header_id|>\n\n` +
    /// trimmed content + `<|eot_id|>` per message.
    case llama3
    /// Vicuna v1 as LLaVA-1.5 prompts it (llava/conversation.py `conv_vicuna_v1`): system text,
    /// then " USER: ... ASSISTANT: ...</s>".
    case vicuna
    /// No template: the message contents joined by newlines.
    case plain

    /// LLaVA-1.5's (Vicuna v1's) system message when the conversation has none.
    public static let vicunaSystem = "A chat between a curious human and an artificial intelligence assistant. "
        + "The assistant gives helpful, detailed, and polite answers to the human's questions."
    public static let smolLM2System = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    public static let qwen2System = "You are a helpful assistant."

    /// Picks the template from the Jinja text stored with the model (GGUF `tokenizer.chat_template`,
    /// tokenizer_config.json) or, without one, from the architecture (GGUF `general.architecture`
    /// or the HF model type). `warning` is set when the result is a guess or `.plain`.
    public static func detect(templateString: String?, architecture: String?) -> (ChatTemplate, warning: String?) {
        if let t = templateString, !t.isEmpty {
            if t.contains("<|im_start|>") { return (.chatML(defaultSystem: chatMLDefaultSystem(t)), nil) }
            if t.contains("<start_of_turn>") { return (.gemma, nil) }
            if t.contains("<|start_header_id|>") {
                if t.contains("Cutting Knowledge Date") {
                    return (.llama3, "Llama 3.1+ chat template: rendered in the Llama 3.0 form, without its date header")
                }
                return (.llama3, nil)
            }
            if t.contains("ASSISTANT:") && t.contains("USER") { return (.vicuna, nil) }
            return (.plain, "unrecognised chat template; the prompt is used without a template")
        }
        switch (architecture ?? "").lowercased() {
        case "gemma", "gemma2", "gemma3", "gemma3_text", "gemma3n":
            return (.gemma, nil)
        case "qwen2", "qwen2vl", "qwen2_vl", "qwen2.5vl":
            return (.chatML(defaultSystem: qwen2System), "the model stores no chat template; using Qwen2's ChatML")
        case "llava":
            return (.vicuna, "the model stores no chat template; using LLaVA-1.5's Vicuna format")
        default:
            return (.plain, "the model has no chat template; the prompt is used without a template")
        }
    }

    /// The literal default system message of a ChatML template: the text between
    /// `<|im_start|>system` + newline and `<|im_end|>`, where it is plain text rather than a
    /// Jinja expression (`messages[0]['content']`). Templates write the newline either as a real
    /// newline inside a Jinja string (SmolLM2) or as the escape `\n` (Qwen2).
    static func chatMLDefaultSystem(_ template: String) -> String? {
        let marker = "<|im_start|>system"
        var rest = Substring(template)
        while let r = rest.range(of: marker) {
            rest = rest[r.upperBound...]
            var body: Substring
            if rest.hasPrefix("\\n") { body = rest.dropFirst(2) } else if rest.hasPrefix("\n") { body = rest.dropFirst(1) } else { continue }
            guard let end = body.range(of: "<|im_end|>") else { continue }
            body = body[..<end.lowerBound]
            // A Jinja expression or string concatenation here means the text is not a literal.
            if body.isEmpty || body.contains("{") || body.contains("}") || body.contains("'") && body.contains("+") { continue }
            return unescapeJinjaString(String(body))
        }
        return nil
    }

    /// Undoes the escapes a Jinja string literal may contain (\n, \t, \', \", \\).
    static func unescapeJinjaString(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = "", escaping = false
        for c in s {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(c)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// The prompt text. Special tokens appear as text (`<|im_start|>`, `<bos>`); the tokenizer
    /// turns them into their ids, so encode it with `addSpecial: false` unless `rendersBOS` is
    /// false and the model wants BOS (`.plain`).
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case .chatML(let defaultSystem):
            // `{% if loop.first and messages[0]['role'] != 'system' %}` default system message.
            if let d = defaultSystem, let first = messages.first, first.role != "system" {
                out += "<|im_start|>system\n\(d)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .gemma:
            out += "<bos>"
            var turns = messages[...]
            var prefix = ""
            if let first = turns.first, first.role == "system" {
                prefix = first.content + "\n\n"   // not trimmed: only message contents are
                turns = turns.dropFirst()
            }
            for (i, m) in turns.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                out += "<start_of_turn>\(role)\n" + (i == 0 ? prefix : "") + m.content.jinjaTrimmed() + "<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        case .llama3:
            for (i, m) in messages.enumerated() {
                if i == 0 { out += "<|begin_of_text|>" }
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n" + m.content.jinjaTrimmed() + "<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .vicuna:
            var turns = messages[...]
            var system = Self.vicunaSystem
            if let first = turns.first, first.role == "system" { system = first.content; turns = turns.dropFirst() }
            out += system + " "
            for m in turns {
                out += m.role == "user" ? "USER: \(m.content) " : "ASSISTANT: \(m.content)</s>"
            }
            if addGenerationPrompt { out += "ASSISTANT:" }
        case .plain:
            out = messages.map(\.content).joined(separator: "\n")
        }
        return out
    }

    /// Whether the rendered text starts with the BOS token itself (so encoding must not add one).
    public var rendersBOS: Bool {
        switch self { case .gemma, .llama3: return true; default: return false }
    }
}

extension String {
    /// Jinja's `| trim`: Python's `str.strip()`, which strips what `str.isspace` calls whitespace.
    func jinjaTrimmed() -> String {
        let s = unicodeScalars
        guard let a = s.firstIndex(where: { !pythonIsSpace($0) }),
              let b = s.lastIndex(where: { !pythonIsSpace($0) }) else { return "" }
        return String(s[a...b])
    }
}
