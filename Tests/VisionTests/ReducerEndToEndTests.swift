import Foundation
import XCTest
import TestSupport
import VLMRuntime
import Prune
@testable import Vision

/// Every reducer on every family's tiny model with --keep 16 and 64: the visual tokens fed are
/// what the budget predicts, the prompt carries exactly that many image tokens, and the LLM
/// runs on them. Single images give exactly K; Idefics3 tiles K each; AnyRes the base's K plus
/// the crops' surviving tokens in raster order with their newline tokens.
final class ReducerEndToEndTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/vlms").path
    static let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples/shapes.png").standardized.path

    func testEveryReducerOnEveryFamily() throws {
        let decoded = try ImageLoader.load(path: Self.image)
        // Every model_type a registered family reads has a tiny fixture of that name.
        for family in VLMConfig.supportedModelTypes {
            let model = try VisionLanguageModel(directory: try FamilyFixtures.directory(family))
            let processed = try model.processor.process(decoded)
            let pieces = processed.pixels.count
            for type in ReducerRegistry.types where type.reducerName != "none" && !type.sizesItself {   // dycoke: video only
                let name = type.reducerName
                for keep in [16, 64] {
                    let reducer = try ReducerRegistry.make(name: name, options: [], seed: 1, encoderLayers: model.encoder.layerCount)
                    let e = try model.embed(processed, reduction: TokenReduction(reducer: reducer, budget: .tokens(keep)))
                    let label = "\(family) \(name) keep \(keep)"
                    // What the budget predicts follows from the processor's layout.
                    switch processed.layout {
                    case .single: XCTAssertEqual(e.count, keep, label)
                    case .split, .panAndScan:
                        XCTAssertEqual(e.count, keep * pieces, label)
                        XCTAssertEqual(e.tileCounts, Array(repeating: keep, count: pieces), label)
                    case .anyRes:
                        // Base image: K; crops: at most K each plus one newline per grid row kept.
                        XCTAssertGreaterThanOrEqual(e.count, keep, label)
                        XCTAssertLessThanOrEqual(e.count, keep * pieces + 8 * (pieces - 1), label)
                    }
                    XCTAssertEqual(e.visualBefore, try model.embed(processed).count, label)
                    let (ids, embeddings) = try model.promptInputs(text: "What is this?", images: [e])
                    XCTAssertEqual(ids.filter { $0 == model.config.imageTokenID }.count, e.count, label)
                    var x = embeddings
                    let logits = try model.language.decoder.forward(embeddings: &x, rows: ids.count,
                                                                   cache: model.language.decoder.makeCache(.f32))
                    XCTAssertTrue(logits.allSatisfy { $0.isFinite }, label)
                }
            }
        }
    }

    /// A temporal reducer (DyCoke) given an image is a usage error from the pipeline, for every family.
    func testTemporalReducerOnAnImageIsAUsageError() throws {
        let decoded = try ImageLoader.load(path: Self.image)
        for family in VLMConfig.supportedModelTypes {
            let model = try VisionLanguageModel(directory: try FamilyFixtures.directory(family))
            let dycoke = try XCTUnwrap(try TokenReduction.make(name: "dycoke", options: [], seed: 0, keep: nil, keepRatio: nil,
                                                              encoderLayers: model.encoder.layerCount))
            XCTAssertThrowsError(try model.embed(try model.processor.process(decoded), reduction: dycoke)) {
                XCTAssertEqual(($0 as? VLMError)?.exitCode, 2, family)
            }
        }
    }

    func testBudgetOverTheTokensPerImageIsAUsageError() throws {
        let model = try VisionLanguageModel(directory: Self.fixtures + "/llava")
        let processed = try model.processor.process(try ImageLoader.load(path: Self.image))
        XCTAssertThrowsError(try model.embed(processed, reduction: TokenReduction(reducer: PoolReducer(), budget: .tokens(65)))) {
            XCTAssertEqual(($0 as? VLMError)?.exitCode, 2)
        }
        // A ratio is per image too: 0.25 of 64 patch tokens.
        XCTAssertEqual(try model.embed(processed, reduction: TokenReduction(reducer: DivPruneReducer(), budget: .ratio(0.25))).count, 16)
    }
}
