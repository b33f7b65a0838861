import XCTest
import Foundation
@testable import VLMRuntime

/// A prompt longer than `DecoderModel.batchSize` runs its matrix products in chunks but attends
/// as one block, layer by layer (`DecoderModel.runLayers`): the logits must not depend on the
/// chunk size, and a packed cache must serve the whole prompt's own rows exact, not only the
/// current chunk's (chunk after chunk, a prompt would read its own earlier chunks back through
/// the packed format and compound that error through the layers).
final class ChunkedPrefillTests: XCTestCase {
    func prompt(_ family: String) throws -> (DecoderModel, [Int32]) {
        let dir = TinyDecoderParityTests.fixtures + "/tiny-\(family)"
        let expected = try JSONDecoder().decode(TinyDecoderParityTests.Expected.self,
                                                from: Data(contentsOf: URL(fileURLWithPath: dir + "/expected.json")))
        return (try HFDecoderLoader.load(directory: dir), expected.prompt_ids)
    }

    func maxDiff(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? .infinity }

    func testLogitsDoNotDependOnTheChunkSize() throws {
        // Gemma 3 has sliding-window layers (window 6 over a 12-token prompt).
        for family in ["llama", "gemma3"] {
            let (model, ids) = try prompt(family)
            let whole = try model.forward(tokens: ids, cache: model.makeCache(.f32), logits: .all)
            model.batchSize = 4
            let chunked = try model.forward(tokens: ids, cache: model.makeCache(.f32), logits: .all)
            XCTAssertEqual(whole.count, chunked.count)
            XCTAssertLessThan(maxDiff(whole, chunked), 1e-5, family)
        }
    }

    func testAPackedCacheServesTheWholePromptExact() throws {
        let (model, ids) = try prompt("llama")
        model.batchSize = 4
        let f32 = model.makeCache(.f32), q4 = model.makeCache(.q4)
        let exact = try model.forward(tokens: ids, cache: f32)
        let packed = try model.forward(tokens: ids, cache: q4)
        XCTAssertLessThan(maxDiff(exact, packed), 1e-4, "the prompt's three chunks attend to each other exact")
        // The next step reads the packed past, so the cache does matter there.
        let next = Int32(Sampler.argmax(exact))
        let stepExact = try model.forward(tokens: [next], cache: f32)
        let stepPacked = try model.forward(tokens: [next], cache: q4)
        XCTAssertGreaterThan(maxDiff(stepExact, stepPacked), 1e-4, "a decode step reads q4 rows")
    }
}
