import Foundation
import XCTest
import Prune
import VLMRuntime
import TestSupport

/// Issue 6, check 5: DyCoke and VidKV together on every video-capable family, and `--kv-cache
/// vidkv` on a still image and on a text-only prompt, through the CLI as a user runs them.
/// Each run must succeed, report what was asked for, and hold a packed cache smaller than the
/// same run's f16 cache by a quarter at least (so the packed path really ran: the prompts are
/// long enough for whole groups to leave VidKV's 32-token sink and 128-token residual).
///
/// The video-capable families: LLaVA-OneVision (the tiny fixture) and LLaVA with a fixed-size
/// processor (the default model, shapes-vlm; the LLaVA fixture crops, which a video frame
/// cannot be given).
final class VideoKVCacheCLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    static let fixtures = root + "/Tests/VisionTests/Fixtures/vlms"
    /// A question of `repeats` clauses: 20 make about 450 tokens for the tiny fixtures'
    /// tokenizers and 130 for SmolLM2's.
    static func longQuestion(_ repeats: Int = 20) -> String {
        "Describe everything you can see, " + String(repeating: "in every detail and colour, ", count: repeats) + "please."
    }

    struct Result { var visualBefore = 0, visualAfter = 0, kvBytes = 0, kvCache = "", text = "" }

    func run(_ args: [String], _ label: String) throws -> Result {
        let r = try runVLM(args + ["--json", "--max-tokens", "3"])
        XCTAssertEqual(r.code, 0, "\(label): \(r.stderr)")
        guard r.code == 0, let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] else {
            XCTFail("\(label): no JSON result: \(r.stdout)"); return Result()
        }
        let tokens = o["tokens"] as? [String: Any] ?? [:], memory = o["memory"] as? [String: Any] ?? [:]
        return Result(visualBefore: tokens["visual_before"] as? Int ?? -1, visualAfter: tokens["visual_after"] as? Int ?? -1,
                      kvBytes: memory["kv_cache_bytes"] as? Int ?? -1, kvCache: o["kv_cache"] as? String ?? "",
                      text: o["text"] as? String ?? "")
    }

    func testDyCokeWithVidKVOnEveryVideoFamily() throws {
        let video = Self.root + "/Samples/clip.mp4", frames = 8
        _ = try installedModel("shapes-vlm/model.safetensors")
        for (family, model) in [("llava_onevision", Self.fixtures + "/llava_onevision"), ("llava", "shapes-vlm")] {
            let base = ["ask", video, Self.longQuestion(), "--model", model, "--frames", String(frames), "--reducer", "dycoke"]
            let packed = try run(base + ["--kv-cache", "vidkv"], "\(family) dycoke vidkv")
            let dense = try run(base + ["--kv-cache", "f16"], "\(family) dycoke f16")
            XCTAssertEqual(packed.kvCache, "vidkv", family)
            // LLaVA-OneVision adds one newline token after the video; the frames share the rest.
            let newline = family == "llava_onevision" ? 1 : 0
            let perFrame = (packed.visualBefore - newline) / frames
            XCTAssertEqual(perFrame * frames + newline, packed.visualBefore, family)
            XCTAssertEqual(packed.visualAfter, DyCokeReducer().mergedCount(frames: frames, tokensPerFrame: perFrame) + newline, family)
            XCTAssertEqual(dense.visualAfter, packed.visualAfter, family)
            XCTAssertGreaterThan(packed.kvBytes, 0, family)
            XCTAssertLessThan(packed.kvBytes, dense.kvBytes * 3 / 4, family)
        }
    }

    func testVidKVOnAnImageAndOnText() throws {
        let llava = Self.fixtures + "/llava"
        let image = ["ask", Self.root + "/Samples/shapes.png", Self.longQuestion(), "--model", llava]
        let packed = try run(image + ["--kv-cache", "vidkv"], "image vidkv")
        let dense = try run(image + ["--kv-cache", "f16"], "image f16")
        XCTAssertEqual(packed.kvCache, "vidkv")
        XCTAssertGreaterThan(packed.visualAfter, 0)
        XCTAssertGreaterThan(packed.kvBytes, 0)
        XCTAssertLessThan(packed.kvBytes, dense.kvBytes * 3 / 4)

        let smolLM2 = try installedModel("SmolLM2-135M-Instruct.Q4_1.gguf")
        let text = ["generate", "--model", smolLM2, "--prompt", Self.longQuestion(120)]
        let packedText = try run(text + ["--kv-cache", "vidkv"], "text vidkv")
        let denseText = try run(text + ["--kv-cache", "f16"], "text f16")
        XCTAssertEqual(packedText.kvCache, "vidkv")
        XCTAssertGreaterThan(packedText.kvBytes, 0)
        XCTAssertLessThan(packedText.kvBytes, denseText.kvBytes * 3 / 4)
    }
}
