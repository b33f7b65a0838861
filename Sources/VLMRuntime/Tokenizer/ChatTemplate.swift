/// Chat prompt formats of the supported families, reproduced exactly as transformers'
/// `apply_chat_template(messages, add_generation_prompt=True)` renders them. There is no
/// general Jinja engine: the family is recognised from the template text stored with the model
/// (or its architecture), and an unknown template falls back to the plain prompt with a warning.
public struct ChatMessage: Sendable, Equatable {
    public var role: String   // "system", "user" or "assistant"
    public var content: String
    public init(role: String, content: String) { self.role = role; self.content = content }
}

public enum ChatTemplate: Sendable, Equatable {
    /// `<|im_start|>role\n...<|im_end|>\n`; SmolLM2 and Qwen2 insert a default system message
    /// when the conversation has none.
    case chatML(defaultSystem: String?)
    /// `<bos><start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n`; the system message
    /// is folded into the first user turn.
    case gemma
    /// `<|begin_of_text|><|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>`.
    case llama3
    /// LLaVA-1.5's Vicuna v1 conversation: "SYSTEM USER: ... ASSISTANT:".
    case vicuna
    /// No template: the user text as is.
    case plain

    static let vicunaSystem = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions."

    /// Picks the template for a model from its stored template text and architecture.
    public static func detect(templateString: String?, architecture: String?) -> (ChatTemplate, warning: String?) {
        if let t = templateString {
            if t.contains("<|im_start|>") {
                let smol = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
                if t.contains(smol) { return (.chatML(defaultSystem: smol), nil) }
                if t.contains("You are a helpful assistant.") { return (.chatML(defaultSystem: "You are a helpful assistant."), nil) }
                return (.chatML(defaultSystem: nil), nil)
            }
            if t.contains("<start_of_turn>") { return (.gemma, nil) }
            if t.contains("<|start_header_id|>") { return (.llama3, nil) }
            if t.contains("ASSISTANT:") { return (.vicuna, nil) }
            return (.plain, "unrecognised chat template; using the prompt without a template")
        }
        switch architecture {
        case "gemma3", "gemma2", "gemma": return (.gemma, nil)
        case "qwen2": return (.chatML(defaultSystem: "You are a helpful assistant."), nil)
        default: return (.plain, "the model has no chat template; using the prompt without a template")
        }
    }

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        switch self {
        case .chatML(let defaultSystem):
            if let d = defaultSystem, messages.first?.role != "system" {
                out += "<|im_start|>system\n\(d)<|im_end|>\n"
            }
            for m in messages { out += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        case .gemma:
            out += "<bos>"
            var rest = messages[...]
            var prefix = ""
            if let first = rest.first, first.role == "system" {
                prefix = first.content + "\n\n"
                rest = rest.dropFirst()
            }
            for (i, m) in rest.enumerated() {
                let role = m.role == "assistant" ? "model" : m.role
                let content = (i == 0 ? prefix : "") + m.content
                out += "<start_of_turn>\(role)\n\(content.trimmingWhitespace())<end_of_turn>\n"
            }
            if addGenerationPrompt { out += "<start_of_turn>model\n" }
        case .llama3:
            out += "<|begin_of_text|>"
            for m in messages {
                out += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content.trimmingWhitespace())<|eot_id|>"
            }
            if addGenerationPrompt { out += "<|start_header_id|>assistant<|end_header_id|>\n\n" }
        case .vicuna:
            let system = messages.first?.role == "system" ? messages[0].content : Self.vicunaSystem
            out += system
            for m in messages where m.role != "system" {
                out += m.role == "assistant" ? " ASSISTANT: \(m.content)</s>" : " USER: \(m.content)"
            }
            if addGenerationPrompt { out += " ASSISTANT:" }
        case .plain:
            out = messages.map(\.content).joined(separator: "\n")
        }
        return out
    }

    /// Whether the rendered text already holds the BOS token (so encoding must not add one).
    public var rendersBOS: Bool {
        switch self { case .gemma, .llama3: return true; default: return false }
    }
}

extension String {
    /// Jinja's `| trim`: strips leading and trailing whitespace.
    func trimmingWhitespace() -> String {
        let s = unicodeScalars
        guard let a = s.firstIndex(where: { !$0.properties.isWhitespace }),
              let b = s.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(s[a...b])
    }
}
