import Foundation

/// What the fuzz targets share: the parsers under test read files (they map them), so each
/// input is written to one file per process in /dev/shm (memory, not disk) and the parser is
/// given its path.
public enum FuzzInput {
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = base + "/vlm-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// The input's bytes.
    public static func bytes(_ data: UnsafePointer<UInt8>, _ count: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: data, count: count))
    }

    /// The input written to `folder/name`; returns the path.
    public static func file(_ data: UnsafePointer<UInt8>, _ count: Int, name: String) -> String {
        let path = folder + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: count))
        return path
    }

    /// A folder holding the input as `name` (for loaders that take a model directory).
    public static func directory(_ data: UnsafePointer<UInt8>, _ count: Int, name: String) -> String {
        _ = file(data, count, name: name)
        return folder
    }
}
