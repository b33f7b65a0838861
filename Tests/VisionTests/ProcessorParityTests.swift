import Foundation
import XCTest
import VLMRuntime
@testable import Vision

/// Every image in Samples/ through each processor (CLIP-336, SigLIP-384, DINOv2, LLaVA-NeXT
/// AnyRes, OneVision anyres_max_9, SmolVLM splitting), built from the same configuration
/// dictionaries transformers used (tools/make_processor_fixtures.py): same crop grid, same
/// tensor shape, values within 0.02 (normalised units) on a strided sample and per-tile means.
final class ProcessorParityTests: XCTestCase {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    struct Case: Decodable {
        struct Layout: Decodable { let kind: String; let rows: Int?; let cols: Int? }
        let image: String, processor: String, shape: [Int], layout: Layout, means: [[Float]], step: Int, sample: [Float]
    }

    func testAllSamplesAllProcessors() throws {
        let data = try Data(contentsOf: Self.here.appendingPathComponent("Fixtures/processors.json"))
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let configs = root["configs"] as! [String: [String: Any]]
        struct File: Decodable { let cases: [Case] }
        let cases = try JSONDecoder().decode(File.self, from: data).cases
        var processors: [String: any ImageProcessor] = [:]
        for (key, config) in configs { processors[key] = try ImageProcessorFactory.make(json: config, source: key) }
        var worst: [String: Float] = [:]
        for c in cases {
            let image = try ImageLoader.load(path: Self.here.appendingPathComponent("../../Samples/" + c.image).standardized.path)
            let out = try processors[c.processor]!.process(image)
            let label = "\(c.image) / \(c.processor)"
            XCTAssertEqual([out.pixels.count, 3, out.pixels.height, out.pixels.width], c.shape, label)
            switch (c.layout.kind, out.layout) {
            case ("single", .single): break
            case ("anyres", .anyRes(let rows, let cols, _, _)): XCTAssertEqual([rows, cols], [c.layout.rows!, c.layout.cols!], label)
            case ("split", .split(let rows, let cols)): XCTAssertEqual([rows, cols], [c.layout.rows!, c.layout.cols!], label)
            default: XCTFail("\(label): layout \(out.layout) vs \(c.layout.kind)")
            }
            guard out.pixels.data.count == c.shape.reduce(1, *) else { continue }
            var err: Float = 0
            for (i, e) in c.sample.enumerated() { err = max(err, abs(out.pixels.data[i * c.step] - e)) }
            let plane = out.pixels.height * out.pixels.width
            for (t, means) in c.means.enumerated() {
                for ch in 0..<3 {
                    let start = (t * 3 + ch) * plane
                    let mean = out.pixels.data[start..<(start + plane)].reduce(0, +) / Float(plane)
                    err = max(err, abs(mean - means[ch]))
                }
            }
            XCTAssertLessThanOrEqual(err, 0.02, label)
            worst[c.processor] = max(worst[c.processor] ?? 0, err)
        }
        print("processor parity, max |diff| per processor over \(cases.count) cases: \(worst.sorted { $0.key < $1.key })")
    }
}
