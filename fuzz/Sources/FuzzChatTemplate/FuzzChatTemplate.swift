import Foundation
import FuzzSupport
import VLMRuntime

/// Chat templates (the Jinja lexer, parser and interpreter through ChatTemplate) from any
/// text, rendered on a fixed conversation with an image part, within the engine's limits
/// (output size, loop iterations, call depth).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatTemplate(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let source = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let template = try? ChatTemplate(source: source, specialTokens: ["bos_token": "<s>", "eos_token": "</s>"], origin: "fuzz") else {
        return 0
    }
    let messages = [ChatMessage(role: "system", content: "Be brief."),
                    ChatMessage(role: "user", parts: [.image, .text("What is this?")]),
                    ChatMessage(role: "assistant", content: "Shapes.")]
    _ = try? template.render(messages, addGenerationPrompt: true, now: Date(timeIntervalSince1970: 0))
    return 0
}
