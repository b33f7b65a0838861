/// A text LLM ready to use: the decoder, its tokenizer and its chat template, loaded from a
/// GGUF file or a Hugging Face directory.
public final class LanguageModel {
    /// A short id for result records: the file or directory name.
    public let id: String
    public let decoder: DecoderModel
    public let tokenizer: any Tokenizer
    public let chatTemplate: ChatTemplate
    /// Set when the model's template was not recognised (the plain prompt is used).
    public let templateWarning: String?
    /// Keeps the GGUF mapping alive for as long as the weights are used.
    private let source: AnyObject?

    public init(id: String, decoder: DecoderModel, tokenizer: any Tokenizer, chatTemplate: ChatTemplate,
                templateWarning: String?, source: AnyObject?) {
        self.id = id; self.decoder = decoder; self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate; self.templateWarning = templateWarning; self.source = source
    }

    /// Loads `path`: a .gguf file, or a directory with config.json, safetensors and tokenizer.json.
    public static func load(path: String) throws -> LanguageModel {
        let name = String(path.split(separator: "/").last ?? Substring(path))
        if ModelLocator.isDirectory(path) {
            let decoder = try HFDecoderLoader.load(directory: path)
            let vocabulary = try TokenizerJSONLoader.load(directory: path)
            let (template, warning) = ChatTemplate.detect(templateString: vocabulary.chatTemplate,
                                                          architecture: decoder.config.family.rawValue)
            return LanguageModel(id: name, decoder: decoder, tokenizer: try makeTokenizer(vocabulary),
                                 chatTemplate: template, templateWarning: warning, source: nil)
        }
        let file = try GGUFFile(path: path)
        let decoder = try GGUFDecoderLoader.load(file)
        let vocabulary = try TokenizerVocabulary.fromGGUF(file)
        let (template, warning) = ChatTemplate.detect(templateString: vocabulary.chatTemplate,
                                                      architecture: try file.stringIfPresent("general.architecture"))
        return LanguageModel(id: name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name, decoder: decoder,
                             tokenizer: try makeTokenizer(vocabulary), chatTemplate: template,
                             templateWarning: warning, source: file)
    }

    /// The prompt as token ids: one user turn (after an optional system message) in the chat
    /// template with the generation prompt, or, with `raw`, the text as is (BOS added when the
    /// model asks for it).
    public func promptTokens(user: String, system: String? = nil, raw: Bool = false) throws -> [Int32] {
        if raw { return tokenizer.encode(user, addSpecial: true) }
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(role: "system", content: system)) }
        messages.append(ChatMessage(role: "user", content: user))
        let text = chatTemplate.render(messages, addGenerationPrompt: true)
        // Templates that render BOS themselves must not get a second one; ChatML has none.
        let ids = tokenizer.encode(text, addSpecial: chatTemplate == .plain)
        guard !ids.isEmpty else { throw VLMError.usage("the prompt is empty") }
        return ids
    }
}
