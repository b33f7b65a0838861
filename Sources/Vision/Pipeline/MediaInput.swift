import Foundation
import Video
import VLMRuntime

/// One image or video handed to the pipeline.
public enum MediaInput: Sendable {
    /// A file, image or video, told apart by its first bytes.
    case file(String)
    /// An image already decoded.
    case image(RGBImage)
    /// Video frames already decoded and sampled, in order.
    case frames([RGBImage])

    /// The file path, for result records.
    public var path: String? { if case .file(let p) = self { return p }; return nil }

    /// Whether the file at `path` is a video: anything that is not an image format we decode
    /// (FFmpeg then decides whether it is a video at all).
    public static func isVideo(_ path: String) throws -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw VLMError.badInput("\(path): cannot read") }
        defer { try? handle.close() }
        let head = [UInt8](handle.readData(ofLength: 16))
        guard !head.isEmpty else { throw VLMError.badInput("\(path): empty file") }
        return ImageLoader.format(of: head) == nil
    }
}

/// Media after the pipeline's first stage (decode and preprocess): what the encoder reads.
public struct DecodedMedia: Sendable {
    public enum Content: Sendable {
        case image(ProcessedImage)
        /// Frames at the encoder's input size, normalised, and how many there are.
        case video(PixelBatch, frames: Int)
    }
    public var content: Content
    /// Seconds the decode took.
    public var seconds: Double
    /// What the decoder had to say (a corrupt tail of a video, say), for the caller to show.
    public var warnings: [String] = []
    /// A video's frames' presentation times in seconds (from the file, or from `--fps` for
    /// frames given as images); nil when unknown.
    public var frameSeconds: [Double]? = nil
}
