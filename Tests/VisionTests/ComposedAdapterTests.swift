import Foundation
import XCTest
import VLMRuntime
import TestSupport
@testable import Vision

/// config.json's `text_adapter` of a composed model: what the loader accepts, and that an adapter
/// that does not fit the GGUF it is named beside is refused with the adapter's own error.
final class ComposedAdapterTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    func testParsesFileAndScale() throws {
        let a = try ComposedAdapter(["file": "adapter.gguf", "scale": 0.5], source: "config.json")
        XCTAssertEqual(a.file, "adapter.gguf")
        XCTAssertEqual(a.scale, 0.5)
        XCTAssertEqual(try ComposedAdapter(["file": "a.gguf"], source: "config.json").scale, 1)
    }

    func testMalformedEntriesAreRefused() {
        let malformed: [Any] = ["adapter.gguf", ["scale": 1.0], ["file": ""], ["file": "a.gguf", "scale": 1e9]]
        for bad in malformed {
            XCTAssertThrowsError(try ComposedAdapter(bad, source: "config.json"), "\(bad)") { error in
                XCTAssertTrue("\(error)".contains("config.json: text_adapter"), "\(error)")
            }
        }
    }

    /// The installed default model's files, its adapter swapped for the tiny Llama fixture's
    /// (64-wide factors for SmolLM2's 576): the load fails on the adapter's shapes, by name.
    func testAdapterOfAnotherModelIsRefused() throws {
        let installed = try installedModel("shapes-vlm/config.json")
        let source = (installed as NSString).deletingLastPathComponent
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("composed-adapter-\(getpid())").path
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for file in ["preprocessor_config.json", "chat_template.jinja", "model.safetensors"] {
            try FileManager.default.copyItem(atPath: source + "/" + file, toPath: dir + "/" + file)
        }
        var config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: installed))) as? [String: Any])
        config["text_model_file"] = source + "/" + (config["text_model_file"] as! String)
        config["vision_model_directory"] = source + "/" + (config["vision_model_directory"] as! String)
        let foreign = Self.here.appendingPathComponent("../VLMRuntimeTests/Fixtures/lora/tiny-llama/adapter-f32.gguf").standardized.path
        config["text_adapter"] = ["file": foreign, "scale": 1.0]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try VisionLanguageModel(directory: dir)) { error in
            XCTAssertTrue("\(error)".contains("adapter-f32.gguf") && "\(error)".contains("do not fit"), "\(error)")
        }
    }
}
