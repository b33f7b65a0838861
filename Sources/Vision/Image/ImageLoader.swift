import Foundation
import VLMRuntime

/// Loads an image file, choosing the decoder from the file's first bytes (not its extension).
public enum ImageLoader {
    public enum Format: String { case jpeg, png, webp, bmp, gif, tiff }

    /// The largest image file read into memory (compressed); larger files are refused.
    public static let maxFileBytes = 512 << 20

    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 8 && bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if bytes.count >= 12 && bytes[0..<4].elementsEqual(Array("RIFF".utf8)) && bytes[8..<12].elementsEqual(Array("WEBP".utf8)) { return .webp }
        if bytes.count >= 2 && bytes[0] == 0x42 && bytes[1] == 0x4D { return .bmp }
        if bytes.count >= 6 && (bytes[0..<6].elementsEqual(Array("GIF87a".utf8)) || bytes[0..<6].elementsEqual(Array("GIF89a".utf8))) { return .gif }
        if bytes.count >= 4 && (bytes[0..<4].elementsEqual([0x49, 0x49, 0x2A, 0]) || bytes[0..<4].elementsEqual([0x4D, 0x4D, 0, 0x2A])) { return .tiff }
        return nil
    }

    public static func load(path: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int else { throw VLMError.badInput("\(path): cannot read") }
        guard size <= maxFileBytes else { throw VLMError.badInput("\(path): file of \(size) bytes is too large for an image") }
        guard let data = (try SmallFile.read(path)) else { throw VLMError.badInput("\(path): cannot read") }
        let bytes = [UInt8](data)
        switch format(of: bytes) {
        case .webp, .bmp, .gif, .tiff: return try FFmpegImageDecoder.decode(path: path, maxPixels: maxPixels)
        default: return try decode(bytes, source: path, maxPixels: maxPixels)
        }
    }

    public static func decode(_ bytes: [UInt8], source: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        switch format(of: bytes) {
        case .jpeg:
            let image = try JPEGDecoder.decode(bytes, source: source, maxPixels: maxPixels)
            return ExifOrientation.read(jpeg: bytes).map { ExifOrientation.apply($0, to: image) } ?? image
        case .png: return try PNGDecoder.decode(bytes, source: source, maxPixels: maxPixels)
        case .webp, .bmp, .gif, .tiff:
            // FFmpeg reads files; in-memory images of these formats go through a private temp file.
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vlm-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            let file = dir.appendingPathComponent("image").path
            guard FileManager.default.createFile(atPath: file, contents: Data(bytes)) else {
                throw VLMError.runtime("cannot write a temporary file for \(source)")
            }
            do { return try FFmpegImageDecoder.decode(path: file, maxPixels: maxPixels) }
            catch VLMError.badInput(let message) { throw VLMError.badInput(message.replacingOccurrences(of: file, with: source)) }
        case nil: throw VLMError.badInput("\(source): not an image (JPEG, PNG, WebP, BMP, GIF or TIFF)")
        }
    }
}
