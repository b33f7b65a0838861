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

    /// The CPU's model name (/proc/cpuinfo), for benchmark output: speed figures name the CPU.
    public static var cpuModel: String {
        guard let f = fopen("/proc/cpuinfo", "r") else { return "unknown" }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(cString: line)
            if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                let value = text[text.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
                return String(value.prefix { $0 != "\n" })
            }
        }
        return "unknown"
    }
}
