import Foundation

/// A small text or JSON file of a model directory (config.json, tokenizer.json, a chat
/// template) read whole, with a size limit checked before reading, so that a hostile or
/// mistaken multi-gigabyte file is a one-line error instead of unbounded memory. (Foundation's
/// FileManager.contents(atPath:) also leaked a page for every empty file: found by fuzzing.)
public enum SmallFile {
    /// 1 GiB: well above the largest real tokenizer.json (tens of MB).
    public static let defaultLimit = 1 << 30

    /// The file's bytes; nil when there is no regular file at `path`.
    public static func read(_ path: String, limit: Int = defaultLimit) throws -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        let size = try handle.seekToEnd()
        guard size <= UInt64(limit) else {
            throw VLMError.badInput("\(path): \(size) bytes, over the \(limit >> 20) MiB this file may have")
        }
        guard size > 0 else { return Data() }
        try handle.seek(toOffset: 0)
        return try handle.read(upToCount: Int(size)) ?? Data()
    }
}
