import ArgumentParser
import VLMRuntime

/// `vlm describe MEDIA...`: a caption for each image, one result per input. A failing input is
/// reported (a JSON result with `error` set, or one line on stderr) and the others go on; the
/// exit code is that of the last failure.
struct DescribeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "describe", abstract: "Describe images.")

    /// What `describe` asks when no --prompt is given.
    static let defaultPrompt = "Describe this image."

    @OptionGroup var common: CommonOptions

    @Option(help: "The request to the model (default: \"\(DescribeCommand.defaultPrompt)\").")
    var prompt: String = DescribeCommand.defaultPrompt

    @Argument(help: "Image files.")
    var media: [String]

    func validate() throws {
        guard !media.isEmpty else { throw ValidationError("give at least one image") }
    }

    func run() throws {
        common.applyThreads()
        var runner: VisionRunner?
        try CommandRunner.run(json: common.json) { runner = try VisionRunner(common: common) }
        var failure: ExitCode?
        for (i, path) in media.enumerated() {
            do {
                try CommandRunner.run(json: common.json, input: path) {
                    let picture = common.showKept.map { media.count == 1 ? $0 : Self.numbered($0, i + 1) }
                    let record = try runner!.answer(media: path, prompt: prompt, common: common, showKept: picture)
                    if common.json { Output.write(record.jsonLine() + "\n") }
                }
            } catch let code as ExitCode { failure = code }
        }
        if let failure { throw failure }
    }

    /// "kept.png" -> "kept-2.png".
    static func numbered(_ path: String, _ n: Int) -> String {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return path + "-\(n)" }
        return String(path[..<dot]) + "-\(n)" + String(path[dot...])
    }
}

/// `vlm ask MEDIA "QUESTION"`: one answer about one image.
struct AskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ask", abstract: "Answer a question about an image.")

    @OptionGroup var common: CommonOptions

    @Argument(help: "An image file.")
    var media: String

    @Argument(help: "The question.")
    var question: String

    func run() throws {
        try CommandRunner.run(json: common.json, input: media) {
            common.applyThreads()
            let runner = try VisionRunner(common: common)
            let record = try runner.answer(media: media, prompt: question, common: common, showKept: common.showKept)
            if common.json { Output.write(record.jsonLine() + "\n") }
        }
    }
}
