#if canImport(Glibc)
import Glibc
#endif

/// Process-level measurements for result objects and benchmarks.
public enum ProcessStats {
    /// Peak resident set size of this process in bytes (ru_maxrss is in KiB on Linux).
    public static var peakRSSBytes: Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    /// A monotonic clock in seconds, for stage timings.
    public static var now: Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
