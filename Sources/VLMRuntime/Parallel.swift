import Dispatch

/// How many worker threads the kernels split their work across. Set once from `--threads`
/// before any model runs; defaults to the number of cores.
public enum Parallel {
    nonisolated(unsafe) public static var threadCount: Int = System.coreCount

    /// Runs `body(chunkStart, chunkEnd)` over `0..<count` split into contiguous chunks, one per
    /// thread (fewer when the work is small). Chunks are multiples of `granularity` so that
    /// callers working on blocks never split one. Runs inline when there is one chunk.
    @inlinable
    public static func forRange(_ count: Int, granularity: Int = 1, minChunk: Int = 1,
                                _ body: (Int, Int) -> Void) {
        if count <= 0 { return }
        let units = (count + granularity - 1) / granularity
        let minUnits = max(1, (minChunk + granularity - 1) / granularity)
        let chunks = max(1, min(threadCount, units / minUnits))
        if chunks == 1 { body(0, count); return }
        let perChunk = (units + chunks - 1) / chunks
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            let start = c * perChunk * granularity
            let end = min(count, (c + 1) * perChunk * granularity)
            if start < end { body(start, end) }
        }
    }
}

/// Facts about the machine that the runtime needs without Foundation.
public enum System {
    public static var coreCount: Int {
        let n = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return n > 0 ? n : 1
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
