import Foundation
import FuzzSupport
import Vision
import VLMRuntime

/// The server's request bodies (ChatRequest: the JSON, its messages and parts, the options over
/// the server's defaults, each media part's data: URL decoded) from any bytes: an `Invalid` or a
/// `VLMError` is the expected answer; a crash, a hang or unbounded memory is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzChatRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let request = try? ChatRequest(json: Data(bytes: data, count: size)) else { return 0 }
    _ = try? request.options(over: PipelineOptions())
    for media in request.media {
        switch media { case .image(let r), .video(let r): _ = try? r.inlineData() }
    }
    return 0
}
