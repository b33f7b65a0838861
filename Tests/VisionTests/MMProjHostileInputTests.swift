import Foundation
import XCTest
import TestSupport
import VLMRuntime
@testable import Vision

/// Hostile and mismatched mmproj files (issue 19, check 4): each is a variant of a real pair
/// (llama.cpp's conversion of the tiny SmolVLM) and must be refused with VLMError exit code 3
/// by the library and, through `vlm describe`, with exit 3 and one line on stderr; never a
/// crash, a hang or an allocation sized from the file.
final class MMProjHostileInputTests: XCTestCase {
    static let dir = GGUFPairParityTests.pairs + "/smolvlm"
    static var model: String { dir + "/model-f32.gguf" }

    /// The real file with `change` applied, written to a temporary file.
    func variant(_ change: (inout GGUFWriter) -> Void) throws -> TempFile {
        var w = GGUFWriter(copying: try GGUFFile(path: Self.dir + "/mmproj-f32.gguf"))
        change(&w)
        return TempFile(w.bytes(), name: "mmproj")
    }

    func expectRefused(_ file: String, _ what: String, model: String = MMProjHostileInputTests.model, mentions: String? = nil) throws {
        XCTAssertThrowsError(try VisionLanguageModel(model: model, mmproj: file), what) { error in
            XCTAssertEqual((error as? VLMError)?.exitCode, 3, "\(what): \(error)")
            if let mentions { XCTAssertTrue("\(error)".contains(mentions), "\(what): \(error)") }
        }
        let r = try runVLM(["describe", ReducerEndToEndTests.image, "--model", model, "--mmproj", file, "--max-tokens", "2"])
        XCTAssertEqual(r.code, 3, "\(what): exit code; stderr \(r.stderr)")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(what): one line on stderr, got \(r.stderr)")
    }

    func testTruncatedFilesAreRefused() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.dir + "/mmproj-f32.gguf")))
        for fraction in [0.01, 0.3, 0.9, 0.999] {
            let file = TempFile(Array(bytes.prefix(Int(Double(bytes.count) * fraction))), name: "mmproj-cut")
            try expectRefused(file.path, "cut at \(fraction)")
        }
    }

    func testAbsurdTensorSizesAreRefused() throws {
        for (i, shape) in [[1 << 40, 32], [32, 1 << 62], [0, 32], [32, 32, 32, 32, 32]].enumerated() {
            let file = try variant { w in
                let t = w.tensors.firstIndex { $0.name == "v.blk.0.attn_q.weight" }!
                w.tensors[t].shape = shape.map(UInt64.init)
            }
            try expectRefused(file.path, "shape \(i) \(shape)")
        }
        let huge = try variant { $0.set("clip.vision.embedding_length", .u32(1 << 30)) }
        try expectRefused(huge.path, "embedding_length 2^30", mentions: "out of range")
        let layers = try variant { $0.set("clip.vision.block_count", .u32(100_000)) }
        try expectRefused(layers.path, "block_count 100000", mentions: "out of range")
    }

    func testWrongProjectorTypesAreRefused() throws {
        let unknown = try variant { $0.set("clip.projector_type", .string("resampler")) }
        try expectRefused(unknown.path, "a projector vlm does not read", mentions: "resampler")
        // Another family's projector on SmolVLM's tensors: its map does not know them.
        let other = try variant { $0.set("clip.projector_type", .string("gemma3")) }
        try expectRefused(other.path, "gemma3 named on SmolVLM's tensors")
        let missing = try variant { $0.metadata.removeAll { $0.0 == "clip.projector_type" } }
        try expectRefused(missing.path, "no projector type", mentions: "projector_type")
        let notClip = try variant { $0.set("general.architecture", .string("llama")) }
        try expectRefused(notClip.path, "a language model as --mmproj", mentions: "not an mmproj")
        try expectRefused(Self.model, "the LLM itself as --mmproj", mentions: "not an mmproj")
    }

    func testMismatchedWidthsAreRefused() throws {
        // The tower's width in the metadata disagrees with its tensors.
        let wider = try variant { $0.set("clip.vision.embedding_length", .u32(48)) }
        try expectRefused(wider.path, "embedding_length 48 over 32-wide tensors")
        let ffn = try variant { $0.set("clip.vision.feed_forward_length", .u32(96)) }
        try expectRefused(ffn.path, "feed_forward_length 96 over 64-wide MLPs")
        // The projector's output is not the LLM's width (64): a pair that was not converted together.
        let narrow = try variant { w in
            let t = w.tensors.firstIndex { $0.name == "mm.model.fc.weight" }!
            let inFeatures = Int(w.tensors[t].shape[0])
            w.tensors[t].shape[1] = 48
            w.tensors[t].data = Array(w.tensors[t].data.prefix(inFeatures * 48 * 4))
        }
        try expectRefused(narrow.path, "a 48-wide projector for a 64-wide LLM", mentions: "do not belong together")
    }

    /// A Qwen3-VL mmproj only with its own LLM: beside Qwen2.5-VL's (no DeepStack, contiguous
    /// M-RoPE) it is refused, and so is an LLM that expects another number of DeepStack rows.
    func testQwen3VLPairsMatchTheirLLM() throws {
        let qwen3 = GGUFPairParityTests.pairs + "/qwen3_vl_tiny", qwen25 = GGUFPairParityTests.pairs + "/qwen2_5_vl_tiny"
        try expectRefused(qwen3 + "/mmproj-f32.gguf", "a Qwen3-VL mmproj beside Qwen2.5-VL's LLM", model: qwen25 + "/model-f32.gguf",
                          mentions: "Qwen3-VL language model")
        var w = GGUFWriter(copying: try GGUFFile(path: qwen3 + "/model-f32.gguf"))
        w.set("qwen3vl.n_deepstack_layers", .u32(3))
        let llm = TempFile(w.bytes(), name: "qwen3vl-deepstack3")
        try expectRefused(qwen3 + "/mmproj-f32.gguf", "an LLM expecting 3 DeepStack rows", model: llm.path, mentions: "DeepStack")
    }
}
