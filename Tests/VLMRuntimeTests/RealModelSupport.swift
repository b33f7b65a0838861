import XCTest
import VLMRuntime

/// Locates the real model files installed by scripts/setup.sh. A missing model skips the test,
/// unless VLM_REQUIRE_MODELS=1 (as `make test` and CI set it), where it fails instead: CI must
/// never pass by skipping the real-model checks.
func realModelPath(_ file: String) throws -> String {
    let path = ModelLocator.modelsDirectory + "/" + file
    if ModelLocator.fileExists(path) { return path }
    if ProcessInfo.processInfo.environment["VLM_REQUIRE_MODELS"] == "1" {
        XCTFail("model \(path) is missing; run scripts/setup.sh")
        throw VLMError.badInput("missing model \(path)")
    }
    throw XCTSkip("model \(path) not installed (run scripts/setup.sh)")
}

let smolLM2File = "SmolLM2-135M-Instruct.Q4_1.gguf"
let gemma3File = "gemma-3-270m-q4_k_m.gguf"
