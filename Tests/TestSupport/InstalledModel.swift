import Foundation
import XCTest
import VLMRuntime

/// A file or folder installed by scripts/setup.sh in the models directory, for the test targets
/// that check real weights. Missing, it skips the test, unless VLM_REQUIRE_MODELS=1 (`make test`,
/// CI), where it fails: CI must never pass by skipping the real-model checks.
public func installedModel(_ relativePath: String) throws -> String {
    let path = ModelLocator.modelsDirectory + "/" + relativePath
    if ModelLocator.fileExists(path) { return path }
    if ProcessInfo.processInfo.environment["VLM_REQUIRE_MODELS"] == "1" {
        XCTFail("\(path) is missing; run scripts/setup.sh")
        throw VLMError.badInput("missing \(path)")
    }
    throw XCTSkip("\(path) not installed (run scripts/setup.sh)")
}
