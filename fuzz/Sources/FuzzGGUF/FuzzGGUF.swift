import FuzzSupport
import VLMRuntime

/// GGUF files (GGUFFile: header, metadata, tensor table; then each tensor read as a matrix)
/// from any bytes: an error is the expected answer, a crash, a hang or an allocation beyond
/// the file's size is a bug.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = FuzzInput.file(data, size, name: "model.gguf")
    if let file = try? GGUFFile(path: path) {
        for t in file.tensors.prefix(16) { _ = try? file.matrix(named: t.name) }
    }
    return 0
}
