import Foundation
import VLMRuntime

/// Loads an image file, choosing the decoder from the file's first bytes (not its extension).
public enum ImageLoader {
    public enum Format: String { case jpeg, png }

    /// The largest image file read into memory (compressed); larger files are refused.
    public static let maxFileBytes = 512 << 20

    public static func format(of bytes: [UInt8]) -> Format? {
        if bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 8 && bytes[0..<8].elementsEqual([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        return nil
    }

    public static func load(path: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int else { throw VLMError.badInput("\(path): cannot read") }
        guard size <= maxFileBytes else { throw VLMError.badInput("\(path): file of \(size) bytes is too large for an image") }
        guard let data = FileManager.default.contents(atPath: path) else { throw VLMError.badInput("\(path): cannot read") }
        return try decode([UInt8](data), source: path, maxPixels: maxPixels)
    }

    public static func decode(_ bytes: [UInt8], source: String, maxPixels: Int = ImageLimits.defaultMaxPixels) throws -> RGBImage {
        switch format(of: bytes) {
        case .jpeg:
            let image = try JPEGDecoder.decode(bytes, source: source, maxPixels: maxPixels)
            return ExifOrientation.read(jpeg: bytes).map { ExifOrientation.apply($0, to: image) } ?? image
        case .png: return try PNGDecoder.decode(bytes, source: source, maxPixels: maxPixels)
        case nil: throw VLMError.badInput("\(source): not a JPEG or PNG image")
        }
    }
}
