import Foundation
import VLMRuntime

/// A llama.cpp model pair: a GGUF language model and the mmproj GGUF of its vision tower and
/// projector (`--model LLM.gguf --mmproj mmproj.gguf`). The family is the one whose
/// `mmprojProjectorTypes` holds the file's `clip.projector_type`.
public enum GGUFPair {
    /// Every projector type some family reads (help texts, errors).
    public static var supportedProjectorTypes: [String] { Array(Set(VLMFamilyRegistry.families.flatMap { $0.mmprojProjectorTypes })).sorted() }

    static func family(for m: MMProjFile) throws -> any VLMFamily.Type {
        guard let family = VLMFamilyRegistry.families.first(where: { $0.readsMMProj(m) }) else {
            throw VLMError.unsupported("\(m.path): projector type '\(m.projectorType)' (supported: \(supportedProjectorTypes.joined(separator: ", ")))")
        }
        return family
    }

    /// The mmproj files beside a GGUF model (`mmproj*.gguf` in its folder), as `vlm models`
    /// lists pairs and as `--model X.gguf` finds its projector when `--mmproj` is not given and
    /// the folder holds exactly one.
    public static func mmprojFiles(besideModel path: String) -> [String] {
        let folder = (path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []
        return names.filter { $0.lowercased().hasPrefix("mmproj") && $0.lowercased().hasSuffix(".gguf") }.sorted()
            .map { folder.isEmpty ? $0 : folder + "/" + $0 }
    }

    /// A layout's dictionary as JSONSerialization reads it from a file (numbers as NSNumber), so
    /// that the config readers see what they see in a directory.
    static func asParsedJSON(_ object: [String: Any]) throws -> [String: Any] {
        let data = try JSONSerialization.data(withJSONObject: object)
        guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw VLMError.runtime("config round trip failed") }
        return parsed
    }

    /// Whether `path` is an mmproj file rather than a language model.
    public static func isMMProj(_ path: String) -> Bool {
        ((try? GGUFFile(path: path).stringIfPresent("general.architecture")) ?? nil) == "clip"
    }
}

extension VisionLanguageModel {
    /// Loads a llama.cpp pair. The LLM's own chat template (tokenizer.chat_template) writes the
    /// prompts, else the family's published one with a warning.
    public convenience init(model: String, mmproj: String) throws {
        let m = try MMProjFile(path: mmproj)
        let family = try GGUFPair.family(for: m)
        let language: LanguageModel
        do {
            language = try LanguageModel.load(path: model)
        } catch where GGUFPair.isMMProj(model) {
            throw VLMError.usage("--model \(model) is an mmproj file; give the language model GGUF as --model and this file as --mmproj")
        }
        var layout = try family.mmprojLayout(m, language: language)
        layout.config["mmproj_file"] = mmproj
        layout.config["text_model_file"] = model
        let config = try VLMConfig(json: try GGUFPair.asParsedJSON(layout.config), source: mmproj)
        let checkpoint = try m.checkpoint(layout.names)
        let template = language.chatTemplate.isFallback
            ? try ChatTemplate.fallback(family.fallbackChatTemplate, specialTokens: language.chatTemplate.specialTokens, for: model)
            : language.chatTemplate
        let processor = try ImageProcessorFactory.make(json: try GGUFPair.asParsedJSON(layout.preprocessor), source: mmproj + " (clip.vision.*)")
        try self.init(config: config, checkpoint: checkpoint, language: language, chatTemplate: template, processor: processor,
                      id: language.id, directory: mmproj)
    }
}
