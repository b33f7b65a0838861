import ArgumentParser
import Foundation
import Prune
import Video
import Vision
import VLMRuntime

/// `vlm eval --bench shapes`: accuracy per task on ShapesBench's held-out split, for one reducer
/// setting or, with `--sweep`, for every image reducer at several keep ratios (plus a plot).
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Accuracy on a benchmark's held-out split (ShapesBench), per task; --sweep for every reducer.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Benchmark: shapes.")
    var bench: String = "shapes"

    @Option(help: "The split's directory (questions.jsonl and the media it names).")
    var data: String = "Samples/shapesbench"

    @Option(help: "Use this many scenes, spread evenly over the split (default: all).")
    var scenes: Int?

    @Option(help: "At most this many questions of each task per scene (default: all).")
    var perTask: Int?

    @Option(help: "Most tokens per answer.")
    var answerTokens: Int = 32

    @Flag(help: "Run every image reducer at each --ratios value, plus no reduction.")
    var sweep = false

    @Option(help: "Keep ratios for --sweep, comma-separated.")
    var ratios: String = "0.11,0.22,0.33"

    @Option(help: "Reducers for --sweep, comma-separated (default: every image reducer).")
    var reducers: String?

    @Option(help: "With --sweep: write a plot of accuracy against visual tokens kept (SVG).")
    var plot: String?

    @Option(help: "Which questions: images, videos (needs a video-capable model) or all.")
    var media: String = "images"

    @Option(help: "Write every reply with its verdict as JSON lines (for inspection).")
    var replies: String?

    func validate() throws {
        guard bench == "shapes" else { throw ValidationError("--bench must be shapes") }
        if let s = scenes, s < 1 { throw ValidationError("--scenes must be at least 1") }
        if let p = perTask, p < 1 { throw ValidationError("--per-task must be at least 1") }
        guard answerTokens >= 1 else { throw ValidationError("--answer-tokens must be at least 1") }
        guard ["images", "videos", "all"].contains(media) else { throw ValidationError("--media must be images, videos or all") }
        if plot != nil && !sweep { throw ValidationError("--plot needs --sweep") }
        _ = try sweepRatios()
    }

    func sweepRatios() throws -> [Double] {
        let r = ratios.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !r.isEmpty, r.allSatisfy({ $0 != nil && $0! > 0 && $0! <= 1 }) else {
            throw ValidationError("--ratios must be comma-separated numbers in (0, 1]")
        }
        return r.map { $0! }
    }

    /// One evaluated setting: a reducer at a ratio (nil ratio: no reduction).
    struct Setting { var reducer: String; var ratio: Double? }

    struct Outcome {
        var setting: Setting
        var table: AccuracyTable
        var meanVisualTokens: Double
        var seconds: Double
    }

    func run() throws {
        try CommandRunner.run(json: common.json) {
            common.applyThreads()
            var questions = ShapesBench.subset(try ShapesBench.load(directory: data), perTask: perTask, scenes: scenes)
            if media != "all" { questions = questions.filter { $0.isVideo == (media == "videos") } }
            guard !questions.isEmpty else { throw VLMError.usage("no questions selected in \(data)") }
            let runner = try VisionRunner(common: common)
            var settings: [Setting] = [Setting(reducer: common.reducer, ratio: common.keepRatio)]
            if sweep {
                let names = reducers.map { $0.split(separator: ",").map(String.init) }
                    ?? ReducerRegistry.names.filter { $0 != "none" && !ReducerRegistry.sizesItself.contains($0) }   // dycoke: video only
                settings = [Setting(reducer: "none", ratio: nil)]
                for name in names { for r in try sweepRatios() { settings.append(Setting(reducer: name, ratio: r)) } }
            } else if common.reducer != "none" && common.keep != nil {
                settings = [Setting(reducer: common.reducer, ratio: nil)]
            }
            var outcomes: [Outcome] = []
            let replyLog = try replies.map { path -> FileHandle in
                guard FileManager.default.createFile(atPath: path, contents: nil), let h = FileHandle(forWritingAtPath: path) else {
                    throw VLMError.runtime("cannot write \(path)")
                }
                return h
            }
            for setting in settings {
                var options = common.pipelineOptions
                options.reducer = setting.reducer
                if sweep || setting.ratio != nil { options.keepRatio = setting.ratio; options.keep = nil }
                // Greedy, short answers: the benchmark scores the first words of each reply.
                options.maxTokens = answerTokens
                options.sampling = SamplingOptions(temperature: 0, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, seed: 0)
                options.stop = []
                let outcome = try evaluate(questions, pipeline: runner.pipeline, options: options, setting: setting, replyLog: replyLog)
                outcomes.append(outcome)
                let mean = outcome.table.meanVideoAccuracy.map { String(format: "video tasks %.1f%%", 100 * $0) }
                    ?? String(format: "image tasks %.1f%%", 100 * outcome.table.meanImageAccuracy)
                Log.info(String(format: "%@: %@ mean accuracy with %.1f visual tokens (%.0f s)",
                                label(setting), mean, outcome.meanVisualTokens, outcome.seconds))
            }
            try? replyLog?.close()
            if common.json {
                Output.write(jsonReport(outcomes, model: runner.model.id, questions: questions.count) + "\n")
            } else {
                Output.write(markdownTable(outcomes))
            }
            if let plot {
                let svg = AccuracyPlot.svg(outcomes.map { (reducer: $0.setting.reducer, tokens: $0.meanVisualTokens,
                                                          accuracy: $0.table.meanImageAccuracy) },
                                           title: "ShapesBench (\(questions.count) questions): accuracy against visual tokens kept")
                guard FileManager.default.createFile(atPath: plot, contents: Data(svg.utf8)) else { throw VLMError.runtime("cannot write \(plot)") }
                Log.info("wrote \(plot)")
            }
        }
    }

    func label(_ s: Setting) -> String {
        if s.reducer == "none" { return "none" }
        if let r = s.ratio { return String(format: "%@ %.0f%%", s.reducer, r * 100) }
        if let k = common.keep { return "\(s.reducer) keep \(k)" }
        return s.reducer   // a reducer that sizes itself (dycoke)
    }

    /// Encodes each scene once (reduced as the setting says), then asks each of its questions.
    func evaluate(_ questions: [ShapesBenchQuestion], pipeline: VLMPipeline, options: PipelineOptions, setting: Setting,
                  replyLog: FileHandle?) throws -> Outcome {
        let start = ProcessStats.now
        let reduction = try pipeline.reduction(options)
        var table = AccuracyTable()
        var visualTokens = 0, scenes = 0
        var done = 0
        let progress = ProgressLine(total: questions.count, enabled: isatty(2) == 1)
        var byFile: [(String, [ShapesBenchQuestion])] = []
        for q in questions {
            if let i = byFile.lastIndex(where: { $0.0 == q.file }) { byFile[i].1.append(q) } else { byFile.append((q.file, [q])) }
        }
        for (file, qs) in byFile {
            let path = data + "/" + file
            // Each scene is encoded once and every question about it reuses the tokens.
            let media = try pipeline.decode(.file(path), options: options)
            let embedding = try pipeline.encode(media, reduction: reduction)
            visualTokens += embedding.count
            scenes += 1
            for q in qs {
                // The cache as `vlm ask` makes it (VidKV's protection, DyCoke's stage 2), and the
                // whole prompt prefilled per question, so the answers are exactly what a user gets.
                let prepared = try pipeline.prepare(prompt: q.question, embedded: [embedding], options: options)
                let reply = try pipeline.generate(prepared, options: options).result.text
                record(q, reply: reply, table: &table, log: replyLog, setting: setting)
                done += 1
            }
            progress.update(done: done, current: "\(label(setting)) \(file)")
        }
        progress.finish()
        return Outcome(setting: setting, table: table, meanVisualTokens: Double(visualTokens) / Double(max(scenes, 1)),
                       seconds: ProcessStats.now - start)
    }

    func record(_ q: ShapesBenchQuestion, reply: String, table: inout AccuracyTable, log: FileHandle?, setting: Setting) {
        let ok = ShapesBench.isCorrect(q, reply: reply)
        for m in q.metrics { table.add(m, correct: ok) }
        if let log {
            let row: [String: Any] = ["setting": label(setting), "file": q.file, "task": q.task, "question": q.question,
                                      "answer": q.answer, "reply": reply, "correct": ok]
            if let d = try? JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]) { log.write(d + Data("\n".utf8)) }
        }
    }

    func markdownTable(_ outcomes: [Outcome]) -> String {
        var metrics: [String] = []
        for o in outcomes { for r in o.table.rows where !metrics.contains(r.metric) { metrics.append(r.metric) } }
        let images = metrics.contains { !$0.hasPrefix("video") }, videos = metrics.contains { $0.hasPrefix("video") }
        var s = "| setting | visual tokens | " + metrics.joined(separator: " | ")
            + (images ? " | mean (image tasks)" : "") + (videos ? " | mean (video tasks)" : "") + " |\n"
        s += "|---|---:|" + String(repeating: "---:|", count: metrics.count + (images ? 1 : 0) + (videos ? 1 : 0)) + "\n"
        for o in outcomes {
            s += "| \(label(o.setting)) | " + String(format: "%.1f", o.meanVisualTokens) + " | "
            s += metrics.map { m in
                guard let r = o.table.rows.first(where: { $0.metric == m }) else { return "" }
                return String(format: "%.1f%% (%d/%d)", 100 * Double(r.correct) / Double(max(r.total, 1)), r.correct, r.total)
            }.joined(separator: " | ")
            if images { s += " | " + String(format: "%.1f%%", 100 * o.table.meanImageAccuracy) }
            if videos { s += " | " + String(format: "%.1f%%", 100 * (o.table.meanVideoAccuracy ?? 0)) }
            s += " |\n"
        }
        return s
    }

    func jsonReport(_ outcomes: [Outcome], model: String, questions: Int) -> String {
        let rows: [[String: Any]] = outcomes.map { o in
            var accuracy: [String: Any] = [:]
            for r in o.table.rows { accuracy[r.metric] = ["correct": r.correct, "total": r.total] }
            var row: [String: Any] = ["reducer": o.setting.reducer, "visual_tokens": o.meanVisualTokens, "accuracy": accuracy,
                                      "mean_image_accuracy": o.table.meanImageAccuracy,
                                      "mean_video_accuracy": o.table.meanVideoAccuracy.map { $0 as Any } ?? NSNull(), "seconds": o.seconds,
                                      "kv_cache": common.kvCache]
            if let r = o.setting.ratio { row["keep_ratio"] = r }
            return row
        }
        let report: [String: Any] = ["bench": bench, "data": data, "model": model, "questions": questions, "results": rows]
        let d = (try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])) ?? Data()
        return String(decoding: d, as: UTF8.self)
    }
}
