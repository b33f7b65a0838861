#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped read-only into memory. Model weights are used straight from the mapping,
/// so loading is instant and pages are shared between processes; nothing is copied.
public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let base: UnsafeRawPointer
    public let size: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw VLMError.badInput("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw VLMError.badInput("\(path): cannot stat") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw VLMError.badInput("\(path): not a regular file") }
        size = Int(st.st_size)
        guard size > 0 else { throw VLMError.badInput("\(path): empty file") }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw VLMError.badInput("\(path): cannot map (\(String(cString: strerror(errno))))") }
        base = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}
