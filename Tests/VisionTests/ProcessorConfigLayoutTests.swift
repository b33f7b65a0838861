import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// transformers 5 may save the image processor inside `processor_config.json`
/// (`{"image_processor": {...}}`) with no `preprocessor_config.json`. Such a directory must load
/// and give exactly what the same model gives with the transformers 4 layout.
final class ProcessorConfigLayoutTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/vlms").path
    static let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples/wide.png").standardized.path

    func testNestedProcessorConfigMatchesPreprocessorConfig() throws {
        let fm = FileManager.default
        for family in VLMConfig.supportedModelTypes {
            let original = try FamilyFixtures.directory(family)
            let copy = fm.temporaryDirectory.appendingPathComponent("vlm-nested-\(family)-\(getpid())").path
            try? fm.removeItem(atPath: copy)
            try fm.createDirectory(atPath: copy, withIntermediateDirectories: true)
            defer { try? fm.removeItem(atPath: copy) }
            for name in try fm.contentsOfDirectory(atPath: original) where name != "preprocessor_config.json" && name != "processor_config.json" {
                try fm.createSymbolicLink(atPath: copy + "/" + name, withDestinationPath: original + "/" + name)
            }
            let imageProcessor = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: original + "/preprocessor_config.json")))
            var processor = (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: original + "/processor_config.json")))) as? [String: Any] ?? [:]
            processor["image_processor"] = imageProcessor
            try JSONSerialization.data(withJSONObject: processor).write(to: URL(fileURLWithPath: copy + "/processor_config.json"))
            XCTAssertFalse(fm.fileExists(atPath: copy + "/preprocessor_config.json"))

            let a = try VisionLanguageModel(directory: original), b = try VisionLanguageModel(directory: copy)
            let decoded = try ImageLoader.load(path: Self.image)
            let pa = try a.processor.process(decoded), pb = try b.processor.process(decoded)
            XCTAssertEqual(pa.layout, pb.layout, family)
            XCTAssertEqual(pa.pixels.data, pb.pixels.data, family)
            let ea = try a.embed(pa), eb = try b.embed(pb)
            XCTAssertEqual(ea.rows, eb.rows, family)
            let ia = try a.promptInputs(text: "What is this?", images: [ea]), ib = try b.promptInputs(text: "What is this?", images: [eb])
            XCTAssertEqual(ia.ids, ib.ids, family)
        }
    }

    func testMissingImageProcessorIsBadInput() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-noproc-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data("{\"chat_template\": \"x\"}".utf8).write(to: URL(fileURLWithPath: dir + "/processor_config.json"))
        XCTAssertThrowsError(try ImageProcessorFactory.load(directory: dir)) { XCTAssertEqual(($0 as? VLMError)?.exitCode, 3) }
    }
}
