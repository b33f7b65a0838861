/// A text LLM ready to use: the decoder, its tokenizer and its chat template, loaded from a
/// GGUF file or a Hugging Face directory.
public final class LanguageModel {
    /// A short id for result records: the file or directory name.
    public let id: String
    public let decoder: DecoderModel
    public let tokenizer: any Tokenizer
    public let chatTemplate: ChatTemplate
    /// Set when the model has no template of its own (a fallback is used).
    public var templateWarning: String? { chatTemplate.warning }
    /// Keeps the GGUF mapping alive for as long as the weights are used.
    private let source: AnyObject?
    /// The GGUF file the model was read from (nil for a Hugging Face directory): pairs check
    /// their LLM's own metadata against the mmproj's.
    public var ggufFile: GGUFFile? { source as? GGUFFile }

    public init(id: String, decoder: DecoderModel, tokenizer: any Tokenizer, chatTemplate: ChatTemplate, source: AnyObject?) {
        self.id = id; self.decoder = decoder; self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate; self.source = source
    }

    /// Loads `path`: a .gguf file, or a directory with config.json, safetensors and tokenizer.json.
    public static func load(path: String) throws -> LanguageModel {
        let name = String(path.split(separator: "/").last ?? Substring(path))
        if ModelLocator.isDirectory(path) {
            let decoder = try HFDecoderLoader.load(directory: path)
            let vocabulary = try TokenizerJSONLoader.load(directory: path)
            let template = try ChatTemplate.load(text: vocabulary.chatTemplate, origin: path + " (tokenizer chat template)",
                                                 vocabulary: vocabulary, architecture: decoder.config.family.rawValue)
            return LanguageModel(id: name, decoder: decoder, tokenizer: try makeTokenizer(vocabulary),
                                 chatTemplate: template, source: nil)
        }
        let file = try GGUFFile(path: path)
        let decoder = try GGUFDecoderLoader.load(file)
        let vocabulary = try TokenizerVocabulary.fromGGUF(file)
        let template = try ChatTemplate.load(text: vocabulary.chatTemplate, origin: name + " (GGUF tokenizer.chat_template)",
                                             vocabulary: vocabulary, architecture: try file.stringIfPresent("general.architecture"))
        return LanguageModel(id: name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name, decoder: decoder,
                             tokenizer: try makeTokenizer(vocabulary), chatTemplate: template, source: file)
    }

    /// The prompt as token ids: one user turn (after an optional system message) in the chat
    /// template with the generation prompt, or, with `raw`, the text as is (BOS added when the
    /// model asks for it).
    public func promptTokens(user: String, system: String? = nil, raw: Bool = false) throws -> [Int32] {
        if raw { return tokenizer.encode(user, addSpecial: true) }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: user))
        return try promptTokens(messages: messages)
    }

    /// A whole conversation in the chat template, as transformers' tokenizer
    /// `apply_chat_template(messages, add_generation_prompt=..., tokenize=True)` encodes it.
    public func promptTokens(messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> [Int32] {
        let text = try chatTemplate.render(messages, addGenerationPrompt: addGenerationPrompt)
        let ids = tokenizer.encode(text, addSpecial: chatTemplate.addsSpecialTokens(to: text, processor: false))
        guard !ids.isEmpty else { throw VLMError.usage("the prompt is empty") }
        return ids
    }
}
