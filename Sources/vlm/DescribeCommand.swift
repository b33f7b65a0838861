import ArgumentParser
import Foundation
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

    @Argument(help: "Image or video files.")
    var media: [String]

    @Option(help: "With several inputs: generate workers in the staged pipeline.")
    var jobs: Int = 1

    func validate() throws {
        guard !media.isEmpty else { throw ValidationError("give at least one image") }
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256") }
    }

    func run() throws {
        common.applyThreads()
        var runner: VisionRunner?
        try CommandRunner.run(json: common.json) { runner = try VisionRunner(common: common) }
        var failure: ExitCode?
        if media.count > 1 && common.showKept == nil, let runner {
            // Several inputs: the staged pipeline (decode, encode and generate overlap); each
            // answer is printed whole, in input order, as soon as it is ready.
            let progress = ProgressLine(total: media.count, enabled: isatty(2) != 0 && !common.json)
            let pipeline = StagedPipeline(runner: runner, prompt: prompt, options: common.pipelineOptions, threads: common.threads, jobs: jobs)
            let stop = StopSignal.install()
            var done = 0
            try pipeline.run(media.enumerated().map { .init(index: $0.offset, path: $0.element) }, shouldStop: { stop.requested }) { out in
                done += 1
                progress.finish()
                switch out.result {
                case .success(let record):
                    if common.json { Output.write(record.jsonLine() + "\n") }
                    else { Output.write("\(out.path): \(record.text)\n") }
                case .failure(let e):
                    Log.info("vlm: \(e.description)")
                    if common.json {
                        var r = ResultRecord(input: out.path, model: runner.model.id, prompt: prompt, text: "", kv_cache: common.kvCache)
                        r.error = .init(kind: e.kind, message: e.description)
                        Output.write(r.jsonLine() + "\n")
                    }
                    failure = ExitCode(e.exitCode)
                }
                progress.update(done: done, current: out.path)
            }
            progress.finish()
            if let failure { throw failure }
            return
        }
        for (i, path) in media.enumerated() {
            do {
                try CommandRunner.run(json: common.json, input: path) {
                    let picture = common.showKept.map { media.count == 1 ? $0 : Self.numbered($0, i + 1) }
                    let record = try runner!.answer(media: path, prompt: prompt, options: common.pipelineOptions,
                                                    display: .init(json: common.json), showKept: picture)
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
            let record = try runner.answer(media: media, prompt: question, options: common.pipelineOptions,
                                           display: .init(json: common.json), showKept: common.showKept)
            if common.json { Output.write(record.jsonLine() + "\n") }
        }
    }
}
