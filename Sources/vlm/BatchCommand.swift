import ArgumentParser
import Foundation
import Vision
import VLMRuntime

/// `vlm batch DIR --prompt TEXT --out FILE.jsonl`: every media file under DIR (recursively,
/// in sorted order, type from content), one JSON result line each, appended and flushed to
/// disk before the next input starts, so a crash never loses a finished result.
///
/// - `--resume` skips inputs whose key (model, prompt, options, input path) is already in the
///   output, and first cuts a torn last line left by a crash.
/// - Inputs run through the staged pipeline (StagedPipeline: decode, encode, generate overlap;
///   `--jobs N` generate workers); results are still written in input order. `--serial` runs
///   one input at a time, for comparison.
/// - SIGINT/SIGTERM: no new input starts; the ones in flight finish and are written, then the run stops.
/// - `--shard I/N` (default from JOB_COMPLETION_INDEX/JOB_COMPLETION_COUNT or
///   SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT) keeps the inputs whose path hash falls in
///   shard I: stable when files are added, and the shards' union is the whole set.
/// Exit code 0 unless every input failed.
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "batch", abstract: "Run a prompt over every image or video in a folder.")

    @OptionGroup var common: CommonOptions
    @Argument(help: "A folder (searched recursively).") var dir: String
    @Option(help: "The request to the model for every input.") var prompt: String = DescribeCommand.defaultPrompt
    @Option(help: "The JSON-lines file results are appended to.") var out: String
    @Flag(help: "Skip inputs already in --out with the same model, prompt and options.") var resume = false
    @Option(help: "Process shard I of N (0-based), e.g. 2/8.") var shard: String?
    @Option(help: "Generate workers in the staged pipeline (inputs prefilling/generating at once; the weights are shared).") var jobs: Int = 1
    @Flag(help: "Run each input through every stage before starting the next (no pipeline; for comparison).") var serial = false

    func validate() throws {
        if jobs < 1 || jobs > 256 { throw ValidationError("--jobs must be between 1 and 256") }
        _ = try shardSpec()
    }

    /// (index, count) from --shard or the job-array environment, (0, 1) when neither is set.
    func shardSpec() throws -> (Int, Int) {
        let env = ProcessInfo.processInfo.environment
        var text = shard
        if text == nil, let i = env["JOB_COMPLETION_INDEX"], let n = env["JOB_COMPLETION_COUNT"] { text = "\(i)/\(n)" }
        if text == nil, let i = env["SLURM_ARRAY_TASK_ID"], let n = env["SLURM_ARRAY_TASK_COUNT"] { text = "\(i)/\(n)" }
        guard let text else { return (0, 1) }
        let parts = text.split(separator: "/").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let i = parts[0], let n = parts[1], n >= 1, i >= 0, i < n else {
            throw ValidationError("--shard wants I/N with 0 <= I < N (got '\(text)')")
        }
        return (i, n)
    }

    func run() throws {
        common.applyThreads()
        let (shardIndex, shardCount) = try shardSpec()
        var failed = 0, done = 0, skipped = 0
        try CommandRunner.run(json: false) {
            guard ModelLocator.isDirectory(dir) else { throw VLMError.usage("\(dir) is not a directory") }
            // The output file never counts as an input, even when it sits inside DIR.
            let outPath = URL(fileURLWithPath: out).standardizedFileURL.resolvingSymlinksInPath().path
            let inputs = try Self.listFiles(dir).filter {
                Self.shardOf($0, count: shardCount) == shardIndex
                    && URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path != outPath
            }
            let output = try ResultFile(path: out)
            let runner = try VisionRunner(common: common)
            let options = Self.optionsKey(common)
            let finished = resume ? try output.finishedKeys() : []
            let stop = StopSignal.install()
            var todo: [StagedPipeline.Input] = []
            for (i, path) in inputs.enumerated() {
                if finished.contains(Self.key(model: runner.model.id, prompt: prompt, options: options, input: path)) { skipped += 1 }
                else { todo.append(.init(index: i, path: path)) }
            }
            let progress = ProgressLine(total: todo.count, enabled: isatty(2) != 0)
            func write(_ path: String, _ result: Result<ResultRecord, VLMError>) throws {
                var record: ResultRecord
                switch result {
                case .success(let r): record = r
                case .failure(let e):
                    record = ResultRecord(input: path, model: runner.model.id, prompt: prompt, text: "", kv_cache: common.kvCacheType.rawValue)
                    record.error = .init(kind: e.kind, message: e.description)
                    failed += 1
                }
                record.key = Self.key(model: runner.model.id, prompt: prompt, options: options, input: path)
                try output.append(record.jsonLine())
                done += 1
                progress.update(done: done, current: path)
            }
            if serial {
                for item in todo {
                    if stop.requested { break }
                    do { try write(item.path, .success(try runner.answer(media: item.path, prompt: prompt, options: common.pipelineOptions, display: .init(quiet: true)))) }
                    catch let e as VLMError { try write(item.path, .failure(e)) }
                }
            } else {
                let pipeline = StagedPipeline(runner: runner, prompt: prompt, options: common.pipelineOptions, threads: common.threads, jobs: jobs)
                try pipeline.run(todo, shouldStop: { stop.requested }) { out in try write(out.path, out.result) }
            }
            if stop.requested { Log.info("vlm batch: stopped on signal; in-flight inputs were finished and written") }
            progress.finish()
            Log.info("vlm batch: \(done) written (\(failed) errors), \(skipped) already done, shard \(shardIndex)/\(shardCount)")
            if done > 0 && failed == done { throw VLMError.badInput("every input failed") }
        }
    }

    /// Regular files under `dir`, recursively, sorted by path (hidden files skipped).
    static func listFiles(_ dir: String) throws -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: dir) else { throw VLMError.badInput("\(dir): cannot list") }
        var files: [String] = []
        while let item = walker.nextObject() as? String {
            if item.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            let path = (dir.hasSuffix("/") ? dir : dir + "/") + item
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue { files.append(path) }
        }
        return files.sorted()
    }

    /// FNV-1a of the path: a stable, platform-independent shard assignment.
    static func shardOf(_ path: String, count: Int) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in path.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return Int(h % UInt64(count))
    }

    static func optionsKey(_ c: CommonOptions) -> String {
        ["reducer=\(c.reducer)", "keep=\(c.keep.map(String.init) ?? "")", "ratio=\(c.keepRatio.map { String($0) } ?? "")",
         "opts=\(c.reducerOpt.joined(separator: ","))", "kv=\(c.kvCache)", "max=\(c.maxTokens)", "t=\(c.temperature)",
         "seed=\(c.seed)", "frames=\(c.frames.map(String.init) ?? "")", "fps=\(c.fps.map { String($0) } ?? "")"].joined(separator: ";")
    }

    static func key(model: String, prompt: String, options: String, input: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (model + "\u{1}" + prompt + "\u{1}" + options + "\u{1}" + input).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}

/// The batch output: JSON lines appended with a flush to disk after each, by one process at a
/// time. The file is held with an exclusive `flock` for as long as the batch runs: a second
/// `vlm batch` on the same file (a re-submitted job, a pod restarted while the old one still
/// runs) is refused instead of interleaving torn lines, and a killed process's lock goes with
/// it (the kernel drops it), so a stale lock never blocks `--resume`.
final class ResultFile {
    let path: String
    private let handle: FileHandle

    init(path: String) throws {
        self.path = path
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else { throw VLMError.runtime("cannot create \(path)") }
        }
        guard let h = FileHandle(forUpdatingAtPath: path) else { throw VLMError.runtime("cannot open \(path)") }
        handle = h
        // Before anything is read or cut: the torn-line repair below must not race a live writer.
        if flock(h.fileDescriptor, LOCK_EX | LOCK_NB) != 0 {
            let busy = errno == EWOULDBLOCK
            try? h.close()
            throw VLMError.runtime(busy ? "\(path) is being written by another running vlm batch; wait for it or use another --out"
                                        : "cannot lock \(path): \(String(cString: strerror(errno)))")
        }
        // A crash can leave a torn last line: cut the file back to its last newline.
        let data = try handle.readToEnd() ?? Data()
        if let last = data.lastIndex(of: UInt8(ascii: "\n")) {
            if last + 1 < data.count { try handle.truncate(atOffset: UInt64(last + 1)) }
        } else if !data.isEmpty {
            try handle.truncate(atOffset: 0)
        }
        try handle.seekToEnd()
    }

    deinit { try? handle.close() }

    /// Keys of the complete lines already in the file.
    func finishedKeys() throws -> Set<String> {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        var keys = Set<String>()
        for line in data.split(separator: UInt8(ascii: "\n")) {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let key = object["key"] as? String {
                keys.insert(key)
            }
        }
        return keys
    }

    func append(_ line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
        try handle.synchronize()
    }
}

/// SIGINT/SIGTERM set a flag the batch loop checks between inputs.
final class StopSignal: @unchecked Sendable {
    nonisolated(unsafe) static var flag: sig_atomic_t = 0
    var requested: Bool { Self.flag != 0 }

    static func install() -> StopSignal {
        signal(SIGINT) { _ in StopSignal.flag = 1 }
        signal(SIGTERM) { _ in StopSignal.flag = 1 }
        return StopSignal()
    }
}
