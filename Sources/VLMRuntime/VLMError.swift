/// The one error type that crosses module boundaries. Each case maps to an exit code of the
/// command-line contract (../shared/CONTRACT.md): 1 runtime failure, 2 bad usage, 3 bad input.
public enum VLMError: Error, CustomStringConvertible, Equatable {
    /// Unreadable, truncated, corrupt or hostile input: media files, model files, headers.
    case badInput(String)
    /// The user asked for something that does not make sense (unknown flag value, etc.).
    case usage(String)
    /// Something failed while running on valid input (out of memory, I/O error mid-run).
    case runtime(String)
    /// A valid file describing something this engine does not implement (an unknown architecture).
    case unsupported(String)

    public var description: String {
        switch self {
        case .badInput(let m): return "bad input: \(m)"
        case .usage(let m): return "usage: \(m)"
        case .runtime(let m): return "error: \(m)"
        case .unsupported(let m): return "unsupported: \(m)"
        }
    }

    /// The process exit code the CLI uses for this error.
    public var exitCode: Int32 {
        switch self {
        case .badInput, .unsupported: return 3
        case .usage: return 2
        case .runtime: return 1
        }
    }

    /// The `error.kind` string of the JSON result object.
    public var kind: String {
        switch self {
        case .badInput: return "bad_input"
        case .usage: return "usage"
        case .runtime: return "runtime"
        case .unsupported: return "unsupported"
        }
    }
}
