/// One metadata value of a GGUF file. Arrays are kept typed (all GGUF arrays are homogeneous),
/// so a 262 144-entry vocabulary is one `[String]`, not a quarter-million enum boxes.
public enum GGUFValue: Sendable, Equatable {
    case int(Int64)          // every integer type (u8..i64; u64 above Int64.max is refused)
    case float(Double)       // f32 and f64
    case bool(Bool)
    case string(String)
    case intArray([Int64])
    case floatArray([Double])
    case boolArray([Bool])
    case stringArray([String])
    case arrayOfArrays([GGUFValue])

    public var intValue: Int? { if case .int(let v) = self { return Int(v) }; return nil }
    public var floatValue: Double? {
        switch self { case .float(let v): return v; case .int(let v): return Double(v); default: return nil }
    }
    public var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    public var boolValue: Bool? { if case .bool(let v) = self { return v }; return nil }

    /// A short rendering for `vlm probe`-style listings and error messages.
    public var summary: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let s): return s.count > 60 ? String(s.prefix(60)) + "..." : s
        case .intArray(let a): return "[\(a.count) ints]"
        case .floatArray(let a): return "[\(a.count) floats]"
        case .boolArray(let a): return "[\(a.count) bools]"
        case .stringArray(let a): return "[\(a.count) strings]"
        case .arrayOfArrays(let a): return "[\(a.count) arrays]"
        }
    }
}
