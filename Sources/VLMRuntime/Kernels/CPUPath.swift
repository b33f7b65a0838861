import CKernels

/// The instruction-set path the kernels take on this CPU, chosen at run time (cpuid and the OS's
/// saved register state; `CKernels/cpu_path.c`), never at build time: one binary runs on every
/// x86-64 CPU at the best width it has. `VLM_CPU_PATH=portable|avx2|avx512` caps it lower.
public enum CPUPath: Int, Sendable, CaseIterable, Comparable {
    case portable = 0
    case avx2 = 1
    case avx512 = 2

    public static func < (a: CPUPath, b: CPUPath) -> Bool { a.rawValue < b.rawValue }

    public var name: String { String(cString: vlm_cpu_path_name(Int32(rawValue))) }

    public init?(name: String) {
        let p = vlm_cpu_path_parse(name)
        guard p >= 0, let path = CPUPath(rawValue: Int(p)) else { return nil }
        self = path
    }

    /// The path in force now.
    public static var current: CPUPath { CPUPath(rawValue: Int(vlm_cpu_path())) ?? .portable }

    /// The best path this CPU and OS support.
    public static var best: CPUPath { CPUPath(rawValue: Int(vlm_cpu_best_path())) ?? .portable }

    /// Caps the path for the rest of the process (tests compare paths); nil restores the
    /// environment's choice. Returns the path now in force (never above `best`).
    @discardableResult
    public static func force(_ path: CPUPath?) -> CPUPath {
        CPUPath(rawValue: Int(vlm_cpu_set_path(Int32(path?.rawValue ?? -1)))) ?? .portable
    }

    /// A one-line description for benchmarks: the path and the extras beside it.
    public static var summary: String {
        var parts = [current.name]
        if current < best { parts.append("(capped; CPU supports \(best.name))") }
        if vlm_cpu_has_avx512_bf16() != 0 { parts.append("avx512-bf16 present") }
        switch vlm_cpu_amx_state() {
        case 1: parts.append("amx permitted (no AMX kernels yet)")
        case -1: parts.append("amx refused by the OS")
        default: break
        }
        return parts.joined(separator: ", ")
    }
}
