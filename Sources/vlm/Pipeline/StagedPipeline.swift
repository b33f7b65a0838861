import Foundation
import Vision
import VLMRuntime

/// Many inputs through one loaded model as a staged pipeline:
///
///     decode + preprocess  ->  encode + reduce + splice  ->  prefill + generate (x jobs)  ->  caller
///          (1 thread)              (1 thread)                  (`jobs` threads)
///
/// Each arrow is a `BoundedQueue` of capacity 2, so a fast stage waits for a slow one instead
/// of piling up decoded images: memory stays flat however many inputs there are. The stages
/// overlap, so throughput approaches that of the slowest stage rather than the sum of all.
/// Generate workers each run a `DecoderModel.sibling()` (the weights are shared; only scratch
/// memory is per worker), and with several workers the per-operation thread count is divided
/// among them: parallelism moves from inside one matrix product to across inputs, which pays
/// where single sequences use the cores poorly (token-by-token decoding).
///
/// Results come back in input order (a small reorder buffer), each as soon as it and every
/// earlier input are done. Errors are per input: a bad file becomes an error record and the
/// run goes on. `stop()` (SIGINT/SIGTERM) stops taking inputs; in-flight work finishes.
final class StagedPipeline: @unchecked Sendable {
    struct Input { var index: Int; var path: String }
    struct Output { var index: Int; var path: String; var result: Result<ResultRecord, VLMError> }

    private struct Decoded { var input: Input; var start: Double; var media: DecodedMedia?; var error: VLMError? }
    private struct Encoded { var input: Input; var start: Double; var prepared: PreparedPrompt?; var error: VLMError? }

    let runner: VisionRunner
    let prompt: String
    let options: PipelineOptions
    /// `--threads` (nil: every core), divided among the generate workers.
    let threads: Int?
    let jobs: Int
    private let decoded = BoundedQueue<Decoded>(capacity: 2)
    private let encoded = BoundedQueue<Encoded>(capacity: 2)
    private let finished: BoundedQueue<Output>
    private let stopLock = NSLock()
    private var stopped = false

    init(runner: VisionRunner, prompt: String, options: PipelineOptions, threads: Int?, jobs: Int) {
        self.runner = runner; self.prompt = prompt; self.options = options; self.threads = threads; self.jobs = max(1, jobs)
        finished = BoundedQueue(capacity: max(4, 2 * jobs))
    }

    func stop() { stopLock.lock(); stopped = true; stopLock.unlock() }
    private var isStopped: Bool { stopLock.lock(); defer { stopLock.unlock() }; return stopped }

    /// Runs `inputs` and hands each result to `emit` in input order, on the calling thread.
    /// `shouldStop` is polled between inputs by the first stage.
    func run(_ inputs: [Input], shouldStop: @escaping () -> Bool, emit: (Output) throws -> Void) throws {
        _ = try runner.pipeline.reduction(options)   // a bad reducer fails the run, not every input
        let decoders = try (0..<jobs).map { i in i == 0 ? runner.model.language.decoder : try runner.model.language.decoder.sibling() }
        let threadCount = Parallel.threadCount
        if jobs > 1 { Parallel.threadCount = max(1, (threads ?? System.coreCount) / jobs) }
        defer { Parallel.threadCount = threadCount }

        let group = DispatchGroup()
        func thread(_ name: String, _ body: @escaping @Sendable () -> Void) {
            group.enter()
            let t = Thread { body(); group.leave() }
            t.name = name
            t.stackSize = 8 << 20
            t.start()
        }

        // Stage 1: decode and preprocess (videos: sampled and decoded).
        thread("vlm-decode") { [self] in
            for input in inputs {
                if shouldStop() || isStopped { break }
                var item = Decoded(input: input, start: ProcessStats.now, media: nil, error: nil)
                do { item.media = try runner.pipeline.decode(.file(input.path), options: options) }
                catch let e as VLMError { item.error = e } catch { item.error = .runtime("\(error)") }
                decoded.push(item)
            }
            decoded.close()
        }
        // Stage 2: encode, reduce, splice into the prompt.
        thread("vlm-encode") { [self] in
            while let item = decoded.pop() {
                var out = Encoded(input: item.input, start: item.start, prepared: nil, error: item.error)
                if let media = item.media {
                    do { out.prepared = try runner.pipeline.prepare(prompt: prompt, decoded: [media], options: options) }
                    catch let e as VLMError { out.error = e } catch { out.error = .runtime("\(error)") }
                }
                encoded.push(out)
            }
            encoded.close()
        }
        // Stage 3: prefill and generate, `jobs` workers.
        let workersLeft = Counter(jobs)
        for w in 0..<jobs {
            let decoder = decoders[w]
            thread("vlm-generate-\(w)") { [self] in
                while let item = encoded.pop() {
                    let result: Result<ResultRecord, VLMError>
                    if let error = item.error {
                        result = .failure(error)
                    } else {
                        do {
                            result = .success(try runner.generate(item.prepared!, media: item.input.path, prompt: prompt, options: options,
                                                                  display: .init(quiet: true), decoder: decoder, start: item.start))
                        } catch let e as VLMError { result = .failure(e) } catch { result = .failure(.runtime("\(error)")) }
                    }
                    finished.push(Output(index: item.input.index, path: item.input.path, result: result))
                }
                if workersLeft.decrement() == 0 { finished.close() }
            }
        }

        // The caller: reorder and emit. An emit error (e.g. the output disk is full) stops the
        // run, after the stages have drained.
        var pending: [Int: Output] = [:]
        var position = 0
        var emitError: Error?
        while let out = finished.pop() {
            pending[out.index] = out
            while position < inputs.count, let ready = pending.removeValue(forKey: inputs[position].index) {
                if emitError == nil {
                    do { try emit(ready) } catch { emitError = error; stop() }
                }
                position += 1
            }
        }
        group.wait()
        if let emitError { throw emitError }
    }
}

/// A thread-safe countdown.
final class Counter: @unchecked Sendable {
    private var value: Int
    private let lock = NSLock()
    init(_ value: Int) { self.value = value }
    func decrement() -> Int { lock.lock(); defer { lock.unlock() }; value -= 1; return value }
}
