import FuzzSupport
import VLMRuntime

/// tokenizer.json (TokenizerJSONLoader, then the tokenizer it describes encoding and decoding
/// a fixed text) from any bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizerJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let dir = FuzzInput.directory(data, size, name: "tokenizer.json")
    if let vocabulary = try? TokenizerJSONLoader.load(directory: dir), let tokenizer = try? makeTokenizer(vocabulary) {
        let ids = tokenizer.encode("Hello, world! <|im_start|>user\nWhat is this? 東京 🙂", addSpecial: true)
        _ = tokenizer.decode(ids)
    }
    return 0
}
