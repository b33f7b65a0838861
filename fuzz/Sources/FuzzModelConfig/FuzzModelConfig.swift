import Foundation
import FuzzSupport
import Vision
import VLMRuntime

/// config.json (a VLM's VLMConfig with its family checks, and a text model's DecoderConfig)
/// from any bytes: whatever JSONSerialization accepts must give a config or an error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let json = try? JSONSerialization.jsonObject(with: Data(bytes: data, count: size)) as? [String: Any] else { return 0 }
    _ = try? VLMConfig(json: json, source: "fuzz")
    _ = try? HFDecoderLoader.config(fromJSON: json, source: "fuzz")
    return 0
}
