import Foundation   // Date for strftime_now

/// One message of a conversation, as the OpenAI / transformers chat format writes it: a role
/// and either a string or a list of parts (`{"type": "text", "text": ...}`, `{"type": "image"}`,
/// `{"type": "video"}`), plus any other fields a template may read (`tool_calls`, `name`...).
public struct ChatMessage {
    public enum Part: Equatable, Sendable {
        case text(String), image, video

        /// The part as a template sees it.
        public var value: JinjaValue {
            switch self {
            case .text(let t): return .object(["type": .string("text"), "text": .string(t)])
            case .image: return .object(["type": .string("image")])
            case .video: return .object(["type": .string("video")])
            }
        }
    }
    public var role: String
    /// The message as the template sees it (a dict).
    public var value: JinjaValue

    public init(role: String, content: String) {
        self.role = role
        value = .object(["role": .string(role), "content": .string(content)])
    }

    public init(role: String, parts: [Part]) {
        self.role = role
        value = .object(["role": .string(role), "content": .list(parts.map(\.value))])
    }

    /// A message given as JSON data (a dict with at least a string `role`).
    public init(value: JinjaValue) throws {
        guard case .dict(let d) = value, case .string(let role)? = d["role"] else {
            throw VLMError.badInput("a message must be an object with a string 'role'")
        }
        self.role = role
        self.value = value
    }
}

/// A model's chat template, run by the Jinja interpreter exactly as transformers'
/// `apply_chat_template` runs it: variables `messages`, `tools` and `documents` (none unless
/// given), `add_generation_prompt`, the tokenizer's special tokens (`bos_token`, `eos_token`,
/// `unk_token`, `pad_token` where the model has them), then the caller's own.
///
/// A model without a template gets a documented fallback (`ChatTemplateFallback`), and
/// `warning` says so.
public struct ChatTemplate: Sendable {
    public let template: JinjaTemplate
    /// Special tokens given to the template as variables.
    public let specialTokens: [String: String]
    /// Where the template came from ("tokenizer_config.json", "GGUF tokenizer.chat_template",
    /// "fallback: ChatML"...), for `vlm prompt --json` and warnings.
    public let origin: String
    public let isFallback: Bool
    /// Set when the template is a fallback.
    public let warning: String?

    public init(source: String, specialTokens: [String: String], origin: String, isFallback: Bool = false, warning: String? = nil) throws {
        do {
            template = try JinjaTemplate(source)
        } catch let e as JinjaError {
            throw VLMError.badInput("\(origin): \(e)")
        }
        self.specialTokens = specialTokens; self.origin = origin; self.isFallback = isFallback; self.warning = warning
    }

    /// The model's template, or the fallback for its architecture when it has none.
    public static func load(text: String?, origin: String, vocabulary: TokenizerVocabulary, architecture: String?) throws -> ChatTemplate {
        let tokens = specialTokens(vocabulary)
        if let text, !text.isEmpty { return try ChatTemplate(source: text, specialTokens: tokens, origin: origin) }
        return try fallback(ChatTemplateFallback.forArchitecture(architecture), specialTokens: tokens, for: "the model")
    }

    /// `fallback` standing in for the missing template of `subject`, with the warning that says so.
    public static func fallback(_ fallback: ChatTemplateFallback.Fallback, specialTokens: [String: String], for subject: String) throws -> ChatTemplate {
        try ChatTemplate(source: fallback.source, specialTokens: specialTokens, origin: "fallback: \(fallback.name)", isFallback: true,
                         warning: "\(subject) has no chat template; using the \(fallback.name) fallback (docs/CHAT-TEMPLATES.md)")
    }

    /// bos/eos/unk/pad as text, where the vocabulary has them (transformers' `special_tokens_map`).
    public static func specialTokens(_ v: TokenizerVocabulary) -> [String: String] {
        var out: [String: String] = [:]
        for (key, id) in [("bos_token", v.bosID), ("eos_token", v.eosID), ("unk_token", v.unknownID), ("pad_token", v.padID)] {
            if let id, id >= 0, Int(id) < v.tokens.count { out[key] = v.tokens[Int(id)] }
        }
        return out
    }

    public var bosToken: String? { specialTokens["bos_token"] }

    /// The rendered prompt. Template errors (a parse error, `raise_exception`, an undefined
    /// used) are bad input: exit 3, with the template's line and column.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool, tools: JinjaValue = .none,
                       variables: [String: JinjaValue] = [:], now: Date = Date()) throws -> String {
        var context: [String: JinjaValue] = [
            "messages": .list(messages.map(\.value)),
            "tools": tools,
            "documents": .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        for (k, v) in specialTokens { context[k] = .string(v) }
        for (k, v) in variables { context[k] = v }
        do {
            return try template.render(context, now: now)
        } catch let e as JinjaError {
            throw VLMError.badInput("\(origin): \(e)")
        }
    }

    /// Whether encoding the rendered text should add the tokenizer's BOS: never for a model's
    /// own template of a text LLM (transformers' tokenizer encodes with add_special_tokens=False);
    /// for a processor (vision models) and for fallbacks, unless the text already starts with it.
    public func addsSpecialTokens(to text: String, processor: Bool) -> Bool {
        guard processor || isFallback else { return false }
        if let bos = bosToken, text.hasPrefix(bos) { return false }
        return true
    }
}
