import VLMRuntime
import Foundation

/// How a VLM's chat template lays out one user turn with media, as the published templates
/// of each family do (rendered here rather than through Jinja: these are the only shapes the
/// supported checkpoints use). `<image>` / `<video>` markers are expanded afterwards.
public enum VLMPromptFormat: Equatable, Sendable {
    /// llava-1.5 / llava-v1.6-vicuna: `USER: <image>\nQ ASSISTANT:` (BOS from the tokenizer).
    case userAssistant
    /// llava-v1.6-mistral: `[INST] <image>\nQ [/INST]`.
    case mistralInstruct
    /// LLaVA-OneVision (Qwen2 ChatML): `<|im_start|>user <image>\nQ<|im_end|>\n<|im_start|>assistant\n`.
    case chatMLMediaFirst
    /// Idefics3 / SmolVLM: `<prefix>User:<image>Q<end_of_utterance>\nAssistant:`; the prefix is
    /// `<|im_start|>` (SmolVLM) or `<|begin_of_text|>` (Idefics3-8B), written by the template.
    case userColon(prefix: String)

    /// The rendered prompt for one user turn: media markers first (as every supported template
    /// renders them), then the text, then the generation prompt.
    public func render(text: String, images: Int, videos: Int = 0) -> String {
        let media = String(repeating: "<image>", count: images) + String(repeating: "<video>", count: videos)
        switch self {
        case .userAssistant:
            let markers = String(repeating: "<image>\n", count: images) + String(repeating: "<video>\n", count: videos)
            return "USER: " + markers + text + " ASSISTANT:"
        case .mistralInstruct:
            let markers = String(repeating: "<image>\n", count: images) + String(repeating: "<video>\n", count: videos)
            return "[INST] " + markers + text + " [/INST]"
        case .chatMLMediaFirst:
            return "<|im_start|>user " + media + "\n" + text + "<|im_end|>\n<|im_start|>assistant\n"
        case .userColon(let prefix):
            return prefix + "User" + (images + videos > 0 ? ":" : ": ") + media + text + "<end_of_utterance>\nAssistant:"
        }
    }

    /// Reads the chat template shipped with a model directory, if any (each family picks its
    /// format from it: VLMFamily.promptFormat).
    public static func templateText(directory: String) -> String? {
        let fm = FileManager.default
        if let d = fm.contents(atPath: directory + "/chat_template.jinja") { return String(decoding: d, as: UTF8.self) }
        for file in ["chat_template.json", "processor_config.json", "tokenizer_config.json"] {
            if let d = fm.contents(atPath: directory + "/" + file),
               let j = try? JSONSerialization.jsonObject(with: d) as? [String: Any],
               let t = j["chat_template"] as? String { return t }
        }
        return nil
    }
}
