import Foundation
import XCTest
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vlm serve` renders the whole conversation through the checkpoint's chat template (issue 17):
/// a system message, an image in the first user turn, an assistant turn and a second user turn,
/// on the LLaVA-OneVision fixture whose template inserts Qwen's default system message. The
/// server's prompt is the one `vlm prompt` prints for the same messages, and that prompt is
/// the template's layout written out here by hand.
final class ServeChatTemplateTests: XCTestCase {
    static let model = vlmFixtures + "/llava_onevision_system"
    static let image = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Samples/shapes.png").standardized.path

    func conversation(system: Bool, imagePart: [String: Any]) -> [[String: Any]] {
        var messages: [[String: Any]] = []
        if system { messages.append(["role": "system", "content": "Be brief."]) }
        messages += [
            ["role": "user", "content": [imagePart, ["type": "text", "text": "What is it?"]]],
            ["role": "assistant", "content": "Shapes."],
            ["role": "user", "content": "Which colour?"],
        ]
        return messages
    }

    /// The prompt tokens `vlm prompt` counts for `messages` (image parts as {"type": "image"}), and its text.
    func promptCLI(_ messages: [[String: Any]]) throws -> (ids: Int, text: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-messages-\(UInt32.random(in: 0...UInt32.max)).json")
        try JSONSerialization.data(withJSONObject: messages).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let r = try runVLM(["prompt", "--model", Self.model, "--messages", file.path, "--json", Self.image])
        XCTAssertEqual(r.code, 0, r.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        return ((object["ids"] as? [Any])?.count ?? -1, object["text"] as? String ?? "")
    }

    func testServerRendersTheWholeConversation() async throws {
        let (p, port) = try await startVLMServer(["--model", Self.model, "--max-tokens", "1"], portOffset: 6133)
        defer { p.terminate(); p.waitUntilExit() }
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.image)).base64EncodedString()
        let served: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64," + png]]

        for system in [true, false] {
            var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/chat/completions")!)
            r.httpMethod = "POST"
            r.httpBody = try JSONSerialization.data(withJSONObject: ["messages": conversation(system: system, imagePart: served)])
            r.timeoutInterval = 60
            let (data, response) = try await URLSession.shared.data(for: r)
            XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200, String(decoding: data, as: UTF8.self))
            let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            let served = (object["usage"] as? [String: Any])?["prompt_tokens"] as? Int

            let (ids, text) = try promptCLI(conversation(system: system, imagePart: ["type": "image"]))
            XCTAssertEqual(served, ids, "system \(system): the server's prompt is vlm prompt's")
            // The conversation's own system message, or the template's default one.
            let head = system ? "<|im_start|>system \nBe brief.<|im_end|>\n" : "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
            XCTAssertTrue(text.hasPrefix(head + "<|im_start|>user <image><image>"), text.prefix(200).debugDescription)
            XCTAssertTrue(text.hasSuffix("<image>\nWhat is it?<|im_end|>\n<|im_start|>assistant \nShapes.<|im_end|>\n"
                                         + "<|im_start|>user \nWhich colour?<|im_end|>\n<|im_start|>assistant\n"), text.suffix(200).debugDescription)
            XCTAssertEqual(text.components(separatedBy: "<image>").count - 1, 190, "the image expanded to its 190 tokens")
        }
    }

    /// Several images in one request; more than the limit is a 400.
    func testSeveralImagesInOneRequest() async throws {
        let (p, port) = try await startVLMServer(["--model", vlmFixtures + "/llava_onevision", "--max-tokens", "1"], portOffset: 6151)
        defer { p.terminate(); p.waitUntilExit() }
        let png = try Data(contentsOf: URL(fileURLWithPath: Self.image)).base64EncodedString()
        let part: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64," + png]]
        let body: [String: Any] = ["messages": [["role": "user", "content": [part, part, ["type": "text", "text": "Same?"]]]]]
        let (status, data) = try await postChatCompletion(port: port, body)
        XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tokens = (object["vlm"] as? [String: Any])?["tokens"] as? [String: Any]
        XCTAssertEqual(tokens?["visual_before"] as? Int, 380, "two images of 190 tokens")

        let many = Array(repeating: part, count: 9)
        let (manyStatus, tooMany) = try await postChatCompletion(port: port, ["messages": [["role": "user", "content": many]]])
        XCTAssertEqual(manyStatus, 400, String(decoding: tooMany, as: UTF8.self))
    }

    /// A video part on a family that reads a video as its frames' image tokens (vlm's default
    /// model, a LLaVA): the request's video part becomes the image part the template marks (it
    /// was a 400, "0 image tokens for N visual tokens", before).
    func testVideoOnAFamilyThatReadsFramesAsImages() async throws {
        let samples = URL(fileURLWithPath: Self.image).deletingLastPathComponent().path
        let (p, port) = try await startVLMServer(["--model", try installedModel("shapes-vlm"), "--max-tokens", "1", "--media-root", samples],
                                                 portOffset: 6163)
        defer { p.terminate(); p.waitUntilExit() }
        let body: [String: Any] = ["frames": 2, "messages": [["role": "user", "content": [
            ["type": "video_url", "video_url": ["url": "clip.mp4"]], ["type": "text", "text": "What happens?"]]]]]
        let (status, data) = try await postChatCompletion(port: port, body)
        XCTAssertEqual(status, 200, String(decoding: data, as: UTF8.self))
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tokens = (object["vlm"] as? [String: Any])?["tokens"] as? [String: Any]
        let visual = try XCTUnwrap(tokens?["visual_before"] as? Int)
        XCTAssertEqual(visual, 2 * 81, "two frames of 81 tokens")
        XCTAssertGreaterThan(try XCTUnwrap(tokens?["prompt"] as? Int), visual, "the frames' tokens are in the prompt")
    }
}
