import VLMRuntime

/// Checks several families share.
enum FamilyChecks {
    /// vlm's feature extras are defined on LLaVA-1.5's plain patch grid only.
    static func refuseFeatureExtras(_ config: VLMConfig, source: String) throws {
        if !config.visionFeatureExtras.isEmpty {
            throw VLMError.unsupported("\(source): vision_feature_extras is implemented for llava models with the class token dropped only")
        }
    }
}
