import VLMRuntime

/// Builds the vision encoder of a VLM checkpoint from its `vision_config`.
enum VisionTowerLoader {
    static func load(checkpoint: TensorCheckpoint, visionConfig: [String: Any], prefix: String) throws -> any VisionEncoder {
        try ViTEncoder(checkpoint: checkpoint, visionConfig: visionConfig, prefix: prefix)
    }
}
