import Foundation   // reading small config files

/// Where a checkpoint directory keeps its chat template, in transformers 5.23's order
/// (docs/notes-chat-templates.md §4).
///
/// A processor (vision models) reads `processor_config.json`'s `chat_template`, then the legacy
/// `chat_template.json`, then `chat_template.jinja`. A tokenizer reads `chat_template.jinja`, then
/// `tokenizer_config.json`'s `chat_template` (TokenizerJSONLoader). A `chat_template` may be a
/// string or a list of `{"name", "template"}`: the one named `name` (default "default").
public enum ChatTemplateSource {
    /// The processor's template text and the file it came from, or nil.
    public static func processorTemplate(directory: String, name: String = "default") throws -> (text: String, origin: String)? {
        for file in ["processor_config.json", "chat_template.json"] {
            let path = directory + "/" + file
            guard let data = (try SmallFile.read(path)) else { continue }
            guard data.count < 64 << 20 else { throw VLMError.badInput("\(path): over 64 MB") }
            let json: JSONValue
            do { json = try JSONValue.parse(Array(data)) } catch { throw VLMError.badInput("\(path): \(error)") }
            if let text = try named(json["chat_template"], name: name, source: path) { return (text, path) }
        }
        let jinja = directory + "/chat_template.jinja"
        if let data = (try SmallFile.read(jinja)) { return (String(decoding: data, as: UTF8.self), jinja) }
        return nil
    }

    /// A `chat_template` value: a string, or the entry called `name` of a list of named ones.
    static func named(_ value: JSONValue?, name: String, source: String) throws -> String? {
        guard let value else { return nil }
        if let s = value.stringValue { return s }
        guard let list = value.arrayValue else { throw VLMError.badInput("\(source): chat_template is neither a string nor a list") }
        let entry = list.first { $0["name"]?.stringValue == name } ?? (name == "default" ? list.first : nil)
        guard let text = entry?["template"]?.stringValue else {
            throw VLMError.badInput("\(source): no chat template named '\(name)' (has: \(list.compactMap { $0["name"]?.stringValue }.joined(separator: ", ")))")
        }
        return text
    }
}
