import VLMRuntime
/// The vision-language families vlm loads, in the order they are asked whether they read a
/// checkpoint's config.json (the composed default model first: it is a LLaVA config with its
/// LLM in a GGUF file). Adding a family: one file in this folder and one line here.
enum VLMFamilyRegistry {
    static let families: [any VLMFamily.Type] = [
        ComposedLLaVAFamily.self,
        LLaVAFamily.self,
        LLaVANextFamily.self,
        LLaVAOneVisionFamily.self,
        Idefics3Family.self,
        Qwen2_5_VLFamily.self,
        Qwen3VLFamily.self,
        Gemma3VLFamily.self,
    ]

    /// The family that reads `json`, if any.
    static func family(for json: [String: Any]) -> (any VLMFamily.Type)? {
        families.first { $0.reads(json) }
    }
}

extension VLMConfig {
    /// Every `model_type` some family reads (help texts, errors, tests that iterate the families).
    public static var supportedModelTypes: [String] {
        var seen: [String] = []
        for type in VLMFamilyRegistry.families.flatMap({ $0.modelTypes }) where !seen.contains(type) { seen.append(type) }
        return seen
    }
}
