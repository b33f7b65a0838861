import Foundation
import XCTest
import TestSupport

/// `vlm prompt` (../shared/CONTRACT.md): a template file rendered alone with --messages, --var,
/// --now and --no-generation-prompt; a broken or raising template is exit 3 naming its line.
final class PromptCommandTests: XCTestCase {
    func write(_ name: String, _ text: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-prompt-\(UInt32.random(in: 0...UInt32.max))-\(name)")
        try text.write(to: url, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url.path
    }

    func testTemplateAlone() throws {
        let template = try write("t.jinja", """
            {{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content | trim }}
            {% endfor %}{% if add_generation_prompt %}[assistant]{% endif %} {{ strftime_now('%d %b %Y') }} {{ flag }}
            """)
        let messages = try write("m.json", #"[{"role": "system", "content": " S "}, {"role": "user", "content": "Hi"}]"#)
        let r = try runVLM(["prompt", "--template", template, "--messages", messages, "--var", "bos_token=<s>",
                            "--var", "flag=true", "--now", "2026-12-03T10:20:30"])
        XCTAssertEqual(r.code, 0, r.stderr)
        XCTAssertEqual(r.stdout, "<s>[system] S\n[user] Hi\n[assistant] 03 Dec 2026 True")
        let quiet = try runVLM(["prompt", "--template", template, "--messages", messages, "--no-generation-prompt", "--now", "2026-12-03"])
        XCTAssertEqual(quiet.stdout, "[system] S\n[user] Hi\n 03 Dec 2026 ")
    }

    func testBadTemplatesExitThreeWithTheLine() throws {
        let messages = try write("m.json", #"[{"role": "user", "content": "Hi"}]"#)
        let broken = try write("broken.jinja", "ok\n{% for m in messages %}\n{{ m.content }}")
        let r = try runVLM(["prompt", "--template", broken, "--messages", messages])
        XCTAssertEqual(r.code, 3, r.stderr)
        XCTAssertTrue(r.stderr.contains("syntax error"), r.stderr)
        let raising = try write("raise.jinja", "a\nb {{ raise_exception('only system and user roles') }}")
        let e = try runVLM(["prompt", "--template", raising, "--messages", messages])
        XCTAssertEqual(e.code, 3)
        XCTAssertTrue(e.stderr.contains("line 2") && e.stderr.contains("only system and user roles"), e.stderr)
        let notJSON = try write("bad.json", "[{")
        XCTAssertEqual(try runVLM(["prompt", "--template", raising, "--messages", notJSON]).code, 3)
    }
}
