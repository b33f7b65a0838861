import ArgumentParser
import Foundation
import Hummingbird
import Vision
import VLMRuntime
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `vlm serve`: an OpenAI-compatible HTTP service over one loaded model.
///
/// - `POST /v1/chat/completions`: OpenAI's chat format. The whole conversation (system, user
///   and assistant turns; content strings or lists of text, `image_url` and `video_url` parts,
///   up to \(ChatRequest.maxMedia) media) goes through the model's chat template; media as data:
///   URLs, local paths only under `--media-root`, http(s) only with `--allow-remote-media`;
///   `stream: true` for server-sent events; vlm's options as extra body fields (reducer, keep,
///   keep_ratio, reducer_opt, kv_cache, frames, fps).
/// - `GET /v1/models`, `GET /health`, `GET /metrics` (Prometheus text).
/// - One request computes at a time (the model is shared); up to `--queue` more wait, and a
///   request beyond that gets 429 with `Retry-After`. Bodies over `--max-body-mb` get 413, malformed requests
///   400, both with OpenAI-style error bodies (a 413 comes before the body is read and closes
///   the connection). `--timeout` bounds each request; a client that disconnects stops its
///   generation; a connection that sends no whole request part for `--idle-timeout` seconds
///   (headers dribbled byte by byte) is closed.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Serve the model over an OpenAI-compatible HTTP API.")

    @OptionGroup var common: CommonOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Requests that may wait while one computes; more get HTTP 429.") var queue = 8
    @Option(help: "Largest request body in MiB.") var maxBodyMb = 64
    @Option(help: "Seconds a request may take, queueing included.") var timeout: Double = 600
    @Option(help: "Seconds a connection may go without a whole request part (headers sent byte by byte, an idle keep-alive) before it is closed.")
    var idleTimeout: Double = 30
    @Option(help: "Local media paths are allowed only under this folder.") var mediaRoot: String?
    @Flag(help: "Allow http(s) media URLs (fetched by the server).") var allowRemoteMedia = false

    func validate() throws {
        if port < 0 || port > 65535 { throw ValidationError("--port must be in 0...65535") }
        if queue < 0 || queue > 10_000 { throw ValidationError("--queue must be in 0...10000") }
        if maxBodyMb < 1 || maxBodyMb > 4096 { throw ValidationError("--max-body-mb must be in 1...4096") }
        if !(timeout > 0) { throw ValidationError("--timeout must be positive") }
        if !(idleTimeout > 0 && idleTimeout <= 86_400) { throw ValidationError("--idle-timeout must be in (0, 86400] seconds") }
    }

    func run() throws {
        common.applyThreads()
        var runner: VisionRunner?
        try CommandRunner.run(json: false) { runner = try VisionRunner(common: common) }
        let service = ChatService(runner: runner!, defaults: common.pipelineOptions, queueLimit: queue, timeout: timeout,
                                  mediaRoot: mediaRoot, allowRemote: allowRemoteMedia)
        let router = Router()
        let maxBody = maxBodyMb << 20
        router.get("/health") { _, _ in Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "{\"status\":\"ok\"}\n"))) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: service.metrics.text())))
        }
        router.get("/v1/models") { _, _ in
            service.json(200, ["object": "list", "data": [["id": service.modelID, "object": "model", "created": 0, "owned_by": "vlm"]]])
        }
        router.post("/v1/chat/completions") { request, _ in
            // Over the limit: 413 at once from Content-Length, or as soon as a body without one
            // passes it; the connection closes after the answer, so the rest is never read.
            func tooLarge() -> Response {
                service.errorResponse(413, "request body over \(maxBody >> 20) MiB", type: "invalid_request_error", headers: [.connection: "close"])
            }
            if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maxBody { return tooLarge() }
            var request = request
            let body: ByteBuffer
            do { body = try await request.collectBody(upTo: maxBody) } catch { return tooLarge() }
            return await service.complete(Data(buffer: body))
        }
        let app = Application(router: router, server: .http1(configuration: .init(idleTimeout: .milliseconds(Int64(idleTimeout * 1000)))),
                              configuration: .init(address: .hostname(host, port: port), serverName: "vlm"),
                              onServerRunning: { channel in Log.info("vlm serve: \(service.modelID) on http://\(host):\(channel.localAddress?.port ?? port)") })
        let done = DispatchSemaphore(value: 0)
        let failure = LockedBox<Error?>(nil)
        Task {
            do { try await app.runService() } catch { failure.value = error }
            done.signal()
        }
        done.wait()
        if let e = failure.value { Log.info("vlm serve: \(e)"); throw ExitCode(1) }
    }
}

/// A value shared across threads under a lock.
final class LockedBox<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T {
        get { lock.lock(); defer { lock.unlock() }; return stored }
        set { lock.lock(); stored = newValue; lock.unlock() }
    }
}

/// Runs chat requests one at a time on a dedicated thread, with admission control.
final class ChatService: @unchecked Sendable {
    let runner: VisionRunner
    /// The server's command-line options: every request starts from them.
    let defaults: PipelineOptions
    let metrics = ServerMetrics()
    let queueLimit: Int
    let timeout: Double
    let mediaRoot: String?
    let allowRemote: Bool
    private let worker = DispatchQueue(label: "vlm.inference")
    private let admitted = LockedBox(0)
    var modelID: String { runner.model.id }

    init(runner: VisionRunner, defaults: PipelineOptions, queueLimit: Int, timeout: Double, mediaRoot: String?, allowRemote: Bool) {
        self.runner = runner; self.defaults = defaults; self.queueLimit = queueLimit; self.timeout = timeout
        self.mediaRoot = mediaRoot.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
        self.allowRemote = allowRemote
    }

    func json(_ status: Int, _ object: Any, headers extra: HTTPFields = [:]) -> Response {
        metrics.record(status: status)
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/json"]
        headers.append(contentsOf: extra)
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    func errorResponse(_ status: Int, _ message: String, type: String, code: String? = nil, headers: HTTPFields = [:]) -> Response {
        json(status, ["error": ["message": message, "type": type, "param": NSNull(), "code": code.map { $0 as Any } ?? NSNull()]], headers: headers)
    }

    /// Takes a slot in the queue (false when full).
    private func admit() -> Bool {
        var ok = false
        let limit = queueLimit + 1
        let current = admitted.value
        if current < limit { admitted.value = current + 1; ok = true }
        return ok
    }
    private func release() { admitted.value = admitted.value - 1 }

    func complete(_ body: Data) async -> Response {
        let request: ChatRequest
        do { request = try ChatRequest(json: body) } catch let e as ChatRequest.Invalid {
            return errorResponse(400, e.message, type: "invalid_request_error")
        } catch { return errorResponse(400, "\(error)", type: "invalid_request_error") }
        // The server's command-line options are the defaults; the request's fields override
        // them and are validated by the same rules as the command line.
        let options: PipelineOptions
        do { options = try request.options(over: defaults) } catch let e as ChatRequest.Invalid {
            return errorResponse(400, e.message, type: "invalid_request_error")
        } catch { return errorResponse(400, "\(error)", type: "invalid_request_error") }
        var files: [MediaFile] = []
        do { for m in request.media { if let file = try await materialize(m) { files.append(file) } } } catch let e as VLMError {
            files.forEach { $0.remove() }
            return errorResponse(400, e.description, type: "invalid_request_error", code: e.kind)
        } catch { files.forEach { $0.remove() }; return errorResponse(400, "\(error)", type: "invalid_request_error") }
        let media = files
        guard admit() else {
            media.forEach { $0.remove() }
            // Retry-After: one request's worth of waiting, as a client should back off at least that long.
            return errorResponse(429, "the server is busy (\(queueLimit) requests waiting); retry later", type: "rate_limit_error",
                                 headers: [.retryAfter: "1"])
        }
        let deadline = ProcessStats.now + timeout
        let cancelled = LockedBox(false)
        let id = "chatcmpl-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let created = Int(Date().timeIntervalSince1970)
        let prompt = request.text, conversation = request.conversation

        if request.stream {
            return stream(prompt: prompt, conversation: conversation, media: media, options: options, deadline: deadline,
                          cancelled: cancelled, id: id, created: created)
        }

        let outcome: Result<ResultRecord, Error> = await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Result<ResultRecord, Error>, Never>) in
                worker.async { [self] in
                    if ProcessStats.now > deadline || cancelled.value {
                        release(); media.forEach { $0.remove() }
                        return done.resume(returning: .failure(Timeout()))
                    }
                    let result = Result { try runner.answer(media: media.map(\.path), prompt: prompt, conversation: conversation, options: options,
                                                            display: .init(quiet: true), isCancelled: { cancelled.value || ProcessStats.now > deadline }) }
                    release(); media.forEach { $0.remove() }
                    done.resume(returning: result)
                }
            }
        } onCancel: { cancelled.value = true }
        switch outcome {
        case .success(let record):
            metrics.record(record)
            if ProcessStats.now > deadline { return errorResponse(504, "the request took longer than \(Int(timeout)) s", type: "timeout_error") }
            var response: [String: Any] = [
                "id": id, "object": "chat.completion", "created": created, "model": modelID,
                "choices": [["index": 0, "message": ["role": "assistant", "content": record.text], "finish_reason": finishReason(runner.stopReason)]],
                "usage": ["prompt_tokens": record.tokens.prompt, "completion_tokens": record.tokens.generated,
                          "total_tokens": record.tokens.prompt + record.tokens.generated],
            ]
            if let data = try? JSONEncoder().encode(record), let vlm = try? JSONSerialization.jsonObject(with: data) { response["vlm"] = vlm }
            return json(200, response)
        case .failure(let e as VLMError):
            return errorResponse(e.exitCode == 1 ? 500 : 400, e.description, type: e.exitCode == 1 ? "server_error" : "invalid_request_error", code: e.kind)
        case .failure(is Timeout):
            return errorResponse(504, "the request waited longer than \(Int(timeout)) s", type: "timeout_error")
        case .failure(let e):
            return errorResponse(500, "\(e)", type: "server_error")
        }
    }

    /// A streamed answer: server-sent events, one chunk per piece of text, then `[DONE]`.
    private func stream(prompt: String, conversation: [ChatMessage], media: [MediaFile], options: PipelineOptions, deadline: Double,
                        cancelled: LockedBox<Bool>, id: String, created: Int) -> Response {
        let (stream, continuation) = AsyncStream<ByteBuffer>.makeStream()
        continuation.onTermination = { _ in cancelled.value = true }
        @Sendable func event(_ object: Any) {
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
                continuation.yield(ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n"))
            }
        }
        @Sendable func chunk(_ delta: [String: Any], _ finish: String?) -> [String: Any] {
            ["id": id, "object": "chat.completion.chunk", "created": created, "model": modelID,
             "choices": [["index": 0, "delta": delta, "finish_reason": finish.map { $0 as Any } ?? NSNull()]]]
        }
        worker.async { [self] in
            event(chunk(["role": "assistant", "content": ""], nil))
            do {
                let record = try runner.answer(media: media.map(\.path), prompt: prompt, conversation: conversation, options: options,
                                               display: .init(quiet: true), isCancelled: { cancelled.value || ProcessStats.now > deadline }) { piece in
                    event(chunk(["content": piece], nil))
                }
                metrics.record(record)
                event(chunk([:], finishReason(runner.stopReason)))
                metrics.record(status: 200)
            } catch let e as VLMError {
                event(["error": ["message": e.description, "type": e.exitCode == 2 ? "invalid_request_error" : "server_error", "code": e.kind]])
                metrics.record(status: e.exitCode == 1 ? 500 : 400)
            } catch {
                event(["error": ["message": "\(error)", "type": "server_error"]])
                metrics.record(status: 500)
            }
            // The slot is free before the client sees the end, so its next request is admitted.
            release(); media.forEach { $0.remove() }
            continuation.yield(ByteBuffer(string: "data: [DONE]\n\n"))
            continuation.finish()
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                        body: .init(asyncSequence: stream))
    }

    struct Timeout: Error {}

    func finishReason(_ r: GenerationResult.StopReason) -> String {
        switch r { case .length: return "length"; case .cancelled: return "cancelled"; default: return "stop" }
    }

    /// A media part as a temporary or allowed local file.
    struct MediaFile {
        let path: String
        let temporary: Bool
        func remove() { if temporary { try? FileManager.default.removeItem(atPath: path) } }
    }

    func materialize(_ media: ChatRequest.Media?) async throws -> MediaFile? {
        guard let media else { return nil }
        let reference: ChatRequest.URLReference
        switch media { case .image(let r), .video(let r): reference = r }
        if let data = try reference.inlineData() { return try temporaryFile(data) }
        let url = reference.url
        if url.hasPrefix("http://") || url.hasPrefix("https://") {
            guard allowRemote, let u = URL(string: url) else { throw VLMError.badInput("remote media URLs are disabled (start the server with --allow-remote-media)") }
            let (data, response) = try await URLSession.shared.data(from: u)
            guard (response as? HTTPURLResponse)?.statusCode ?? 200 < 400 else { throw VLMError.badInput("\(url): HTTP error") }
            return try temporaryFile(data)
        }
        let path = url.hasPrefix("file://") ? String(url.dropFirst(7)) : url
        guard let root = mediaRoot else { throw VLMError.badInput("local media paths are disabled (start the server with --media-root DIR)") }
        let resolved = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: root + "/")).standardizedFileURL.resolvingSymlinksInPath().path
        guard resolved.hasPrefix(root + "/") else { throw VLMError.badInput("\(path) is outside --media-root") }
        return MediaFile(path: resolved, temporary: false)
    }

    private func temporaryFile(_ data: Data) throws -> MediaFile {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-serve-\(UInt64.random(in: 0...UInt64.max))").path
        guard FileManager.default.createFile(atPath: path, contents: data) else { throw VLMError.runtime("cannot write a temporary file") }
        return MediaFile(path: path, temporary: true)
    }
}
