import Foundation
import ArgumentParser
import VLMRuntime

/// stdout carries results only (text, or JSON objects); everything else goes to stderr.
enum Output {
    static func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }
}

enum Log {
    static func info(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
    /// A progress line redrawn in place on a terminal (nil clears it).
    static func progress(_ s: String?) {
        let line = s.map { "\r\u{1B}[K" + String($0.prefix(120)) } ?? "\r\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }
    static func warn(_ s: String) { FileHandle.standardError.write(Data(("warning: " + s + "\n").utf8)) }
}

/// Runs a command body and turns errors into the contract's exit codes with one clear line on
/// stderr (and, in JSON mode, a result object whose `error` is set).
enum CommandRunner {
    static func run(json: Bool, input: String? = nil, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch let e as VLMError {
            Log.info("vlm: \(e.description)")
            if json {
                var r = ResultRecord(input: input, model: "", prompt: "", text: "", kv_cache: "")
                r.error = .init(kind: e.kind, message: e.description)
                Output.write(r.jsonLine() + "\n")
            }
            throw ExitCode(e.exitCode)
        }
    }
}
