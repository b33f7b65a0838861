import CKernels
import Dispatch

/// How many worker threads the kernels split their work across. Set once from `--threads`
/// before any model runs; defaults to the number of cores.
///
/// Regions run on a persistent pool (`CKernels/thread_pool.c`): workers spin briefly between
/// regions and then park, and the calling thread takes part, so the few hundred regions of a
/// decode step do not each pay a thread wake-up. One pool exists per thread count in use (a
/// batch with `--jobs` runs its jobs at a smaller count); a region called while another thread
/// holds that pool falls back to GCD instead of waiting.
public enum Parallel {
    nonisolated(unsafe) public static var threadCount: Int = System.coreCount

    /// Runs `body(chunkStart, chunkEnd)` over `0..<count` split into contiguous chunks, one per
    /// thread (fewer when the work is small; `chunksPerThread` more, claimed dynamically, where a
    /// late thread should cost only a small piece). Chunks are multiples of `granularity` so that
    /// callers working on blocks never split one. Runs inline when there is one chunk.
    public static func forRange(_ count: Int, granularity: Int = 1, minChunk: Int = 1, chunksPerThread: Int = 1,
                                _ body: (Int, Int) -> Void) {
        if count <= 0 { return }
        let units = (count + granularity - 1) / granularity
        let minUnits = max(1, (minChunk + granularity - 1) / granularity)
        let threads = threadCount
        let chunks = max(1, min(threads * max(1, chunksPerThread), units / minUnits))
        if chunks == 1 || threads == 1 { body(0, count); return }
        let perChunk = (units + chunks - 1) / chunks * granularity
        withoutActuallyEscaping(body) { body in
            var region = Region(body: body, count: count, perChunk: perChunk)
            let ran = withUnsafeMutablePointer(to: &region) { vlm_pool_run(pool(threads: threads), runChunk, $0, chunks) }
            if ran == 0 {
                DispatchQueue.concurrentPerform(iterations: chunks) { c in region.run(chunk: c) }
            }
        }
    }

    /// One region's work as the C pool sees it.
    struct Region {
        let body: (Int, Int) -> Void
        let count: Int
        let perChunk: Int

        func run(chunk c: Int) {
            let start = c * perChunk, end = min(count, start + perChunk)
            if start < end { body(start, end) }
        }
    }

    private static let runChunk: vlm_pool_fn = { context, chunk in
        context!.assumingMemoryBound(to: Region.self).pointee.run(chunk: chunk)
    }

    nonisolated(unsafe) private static var pools: [Int: OpaquePointer] = [:]
    private static let poolsLock = Lock()

    /// The pool for `threads` threads, created on first use and kept for the process.
    static func pool(threads: Int) -> OpaquePointer? {
        poolsLock.withLock {
            if let p = pools[threads] { return p }
            let p = vlm_pool_create(Int32(threads))
            if let p { pools[threads] = p }
            return p
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
