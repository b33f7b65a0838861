import FuzzSupport
import Video

/// Media containers through vlm's FFmpeg wrapper (MediaProbe, then VideoReader decoding up to
/// three frames scaled to 64x64) from any bytes. FFmpeg itself is fuzzed upstream; this covers
/// the wrapper's handling of what FFmpeg returns.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzVideo(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzInput.file(data, size, name: "input.media")
    guard (try? MediaProbe.probe(path: path)) != nil, let reader = try? VideoReader(path: path) else { return 0 }
    var frames = 0
    try? reader.read(.all, size: { _, _ in (64, 64) }) { _ in
        frames += 1
        return frames < 3
    }
    return 0
}
