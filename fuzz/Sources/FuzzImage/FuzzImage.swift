import FuzzSupport
import Vision

/// Images (ImageLoader: the format sniffed from the bytes, then libjpeg, libpng or FFmpeg,
/// EXIF orientation, the pixel limit from the header) from any bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    _ = try? ImageLoader.decode(FuzzInput.bytes(data, size), source: "fuzz", maxPixels: 1 << 22)
    return 0
}
