import ArgumentParser
import Foundation
import Vision
import VLMRuntime

/// `vlm prompt`: the prompt a model would be given, rendered by its own chat template exactly as
/// transformers' `apply_chat_template` renders it, and nothing run after that (media are
/// encoded only to count their visual tokens). With `--template` it renders a template file
/// alone, with no model (../shared/CONTRACT.md).
struct PromptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prompt", abstract: "Print the rendered chat prompt (no generation).")

    @OptionGroup var common: CommonOptions

    @Option(help: "The user prompt (one user turn, after the media).")
    var prompt: String?

    @Option(help: "A JSON array of messages (OpenAI / transformers chat format) instead of --prompt.")
    var messages: String?

    @Option(help: "Render this Jinja template file alone, with no model.")
    var template: String?

    @Option(name: .customLong("var"), help: "A template variable NAME=VALUE (VALUE as JSON when it parses; repeatable).")
    var variables: [String] = []

    @Flag(help: "Do not append the generation prompt (add_generation_prompt=false).")
    var noGenerationPrompt = false

    @Option(help: "The time strftime_now formats, as YYYY-MM-DDTHH:MM:SS (local time), for reproducible renders.")
    var now: String?

    @Option(help: "Render this many times and report the mean time on stderr (a benchmark).")
    var bench: Int?

    @Argument(help: "Images or videos the user turn (or the messages' image/video parts) refer to, in order.")
    var media: [String] = []

    /// Template files and message lists are small; anything larger is refused before reading.
    static let maxFileBytes = 8 << 20

    func run() throws {
        try CommandRunner.run(json: common.json) {
            common.applyThreads()
            let context = try templateContext()
            if let template {
                let source = try Self.read(template)
                let chat = try ChatTemplate(source: source, specialTokens: [:], origin: template)
                let list = try conversation(mediaParts: nil)
                try benchmark(chat, list, context)
                let text = try render(chat, list, context)
                if common.json { Output.write(try jsonLine(["text": text]) + "\n") } else { Output.write(text) }
                return
            }
            try renderForModel(context)
        }
    }

    /// The messages: --messages, or --system and one user turn of --prompt: content parts with
    /// `mediaParts` first for a vision-language model, plain strings (what text LLMs' templates
    /// read) when `mediaParts` is nil.
    private func conversation(mediaParts: [ChatMessage.Part]?) throws -> [ChatMessage] {
        if let messages {
            guard prompt == nil else { throw VLMError.usage("give --prompt or --messages, not both") }
            guard case .list(let items) = try parseJSON(try Self.read(messages), source: messages) else {
                throw VLMError.badInput("\(messages): not a JSON array of messages")
            }
            return try items.map { try ChatMessage(value: $0) }
        }
        guard let prompt else { throw VLMError.usage("give --prompt TEXT or --messages FILE.json") }
        guard let mediaParts else {
            return (common.system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + [ChatMessage(role: "user", content: prompt)]
        }
        return (common.system.map { [ChatMessage(role: "system", parts: [.text($0)])] } ?? [])
            + [ChatMessage(role: "user", parts: mediaParts + [.text(prompt)])]
    }

    /// What the template is given besides the messages: `tools` (a --var), the other --var
    /// values, and the time `strftime_now` formats.
    struct TemplateContext { var tools: JinjaValue = .none; var variables: [String: JinjaValue] = [:]; var now = Date() }

    private func renderForModel(_ context: TemplateContext) throws {
        let path = try ModelLocator.resolve(common.model, default: media.isEmpty ? ModelLocator.defaultModelName : ModelLocator.defaultVisionModelName)
        guard common.mmproj != nil || (ModelLocator.isDirectory(path) && VLMConfig.isVisionLanguageModel(directory: path)) else {
            guard media.isEmpty else { throw VLMError.usage("media need a vision-language model (--model DIR)") }
            let lm = try LanguageModel.load(path: path)
            if let w = lm.templateWarning { Log.warn(w) }
            let list = try conversation(mediaParts: nil)
            try benchmark(lm.chatTemplate, list, context)
            let text = try render(lm.chatTemplate, list, context)
            let ids = lm.tokenizer.encode(text, addSpecial: lm.chatTemplate.addsSpecialTokens(to: text, processor: false))
            try emit(text: text, ids: ids, media: [])
            return
        }
        let runner = try VisionRunner(common: common)
        let options = common.pipelineOptions
        let reduction = try runner.pipeline.reduction(options)
        let embedded = try media.map { try runner.pipeline.encode(try runner.pipeline.decode(.file($0), options: options), reduction: reduction) }
        let list = try conversation(mediaParts: embedded.map { $0.isVideo ? .video : .image })
        let model = runner.model
        try benchmark(model.chatTemplate, list, context)
        let (text, addSpecial) = try model.promptText(messages: list, images: embedded, addGenerationPrompt: !noGenerationPrompt,
                                                      tools: context.tools, variables: context.variables, now: context.now)
        let ids = model.language.tokenizer.encode(text, addSpecial: addSpecial)
        try emit(text: text, ids: ids, media: embedded.map { ["kind": $0.isVideo ? "video" : "image", "placeholder_tokens": $0.count] })
    }

    private func render(_ chat: ChatTemplate, _ list: [ChatMessage], _ context: TemplateContext) throws -> String {
        try chat.render(list, addGenerationPrompt: !noGenerationPrompt, tools: context.tools, variables: context.variables, now: context.now)
    }

    /// With --bench N: the template rendered N times, the mean time on stderr (the render alone:
    /// no media expansion, no tokenizer).
    private func benchmark(_ chat: ChatTemplate, _ list: [ChatMessage], _ context: TemplateContext) throws {
        guard let n = bench else { return }
        guard n > 0 && n <= 1_000_000 else { throw VLMError.usage("--bench must be between 1 and 1000000") }
        var bytes = 0
        let start = ProcessStats.now
        for _ in 0..<n { bytes = try render(chat, list, context).utf8.count }
        let ms = (ProcessStats.now - start) * 1000 / Double(n)
        Log.info(String(format: "rendered %d messages %d times: %.3f ms per render (%d bytes)", list.count, n, ms, bytes))
    }

    private func emit(text: String, ids: [Int32], media: [[String: Any]]) throws {
        if common.json {
            Output.write(try jsonLine(["text": text, "ids": ids.map(Int.init), "media": media]) + "\n")
        } else {
            Output.write(text)
        }
    }

    private func jsonLine(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self)
    }

    private func templateContext() throws -> TemplateContext {
        var context = TemplateContext(now: try parsedNow())
        for item in variables {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else { throw VLMError.usage("--var takes NAME=VALUE, got '\(item)'") }
            let value = String(item[item.index(after: eq)...])
            context.variables[String(item[..<eq])] = (try? JinjaValue.parseJSON(value)) ?? .string(value)
        }
        if let tools = context.variables.removeValue(forKey: "tools") { context.tools = tools }
        return context
    }

    private func parsedNow() throws -> Date {
        guard let now else { return Date() }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone.current
        for format in ["yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"] {
            f.dateFormat = format
            if let d = f.date(from: now) { return d }
        }
        throw VLMError.usage("--now must be YYYY-MM-DDTHH:MM:SS, got '\(now)'")
    }

    private func parseJSON(_ text: String, source: String) throws -> JinjaValue {
        do { return try JinjaValue.parseJSON(text) } catch { throw VLMError.badInput("\(source): \(error)") }
    }

    static func read(_ path: String) throws -> String {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? Int else {
            throw VLMError.badInput("cannot read \(path)")
        }
        guard size <= maxFileBytes else { throw VLMError.badInput("\(path) is over \(maxFileBytes >> 20) MB") }
        guard let data = FileManager.default.contents(atPath: path) else { throw VLMError.badInput("cannot read \(path)") }
        return String(decoding: data, as: UTF8.self)
    }
}
