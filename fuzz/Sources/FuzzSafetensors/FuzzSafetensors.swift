import FuzzSupport
import VLMRuntime

/// safetensors files (SafetensorsFile: the JSON header, dtypes, shapes, offsets; then each
/// tensor read as floats) from any bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafetensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzInput.file(data, size, name: "model.safetensors")
    if let file = try? SafetensorsFile(path: path) {
        for name in file.tensors.keys.sorted().prefix(16) { _ = try? file.floats(named: name) }
    }
    return 0
}
