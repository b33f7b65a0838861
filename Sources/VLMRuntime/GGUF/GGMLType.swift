/// ggml's tensor storage types, with their block geometry. Quantized types store `blockSize`
/// consecutive values of a row in `blockBytes` bytes (scales plus packed integers).
public enum GGMLType: UInt32, Sendable, CustomStringConvertible {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q8_1 = 9
    case q2_K = 10, q3_K = 11, q4_K = 12, q5_K = 13, q6_K = 14, q8_K = 15
    case bf16 = 30

    /// Values per block.
    public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1: return 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .q8_K: return 256
        }
    }

    /// Bytes per block.
    public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q4_0: return 18        // f16 d + 16 bytes of nibbles
        case .q4_1: return 20        // f16 d, f16 m + 16 bytes
        case .q5_0: return 22        // f16 d + 4 bytes high bits + 16 bytes
        case .q5_1: return 24        // f16 d, f16 m + 4 + 16
        case .q8_0: return 34        // f16 d + 32 int8
        case .q8_1: return 36        // f16 d, f16 s + 32 int8
        case .q2_K: return 84
        case .q3_K: return 110
        case .q4_K: return 144       // f16 d, f16 dmin, 12 bytes scales, 128 bytes nibbles
        case .q5_K: return 176       // + 32 bytes high bits
        case .q6_K: return 210       // 128 low nibbles, 64 high bits, 16 int8 scales, f16 d
        case .q8_K: return 292
        }
    }

    /// Whether this runtime can read the type.
    public var isSupported: Bool {
        switch self {
        case .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K: return true
        default: return false
        }
    }

    /// Bytes of one row of `count` values, or nil when `count` is not a whole number of blocks.
    public func rowBytes(_ count: Int) -> Int? {
        count % blockSize == 0 ? count / blockSize * blockBytes : nil
    }

    public var description: String {
        switch self {
        case .f32: return "F32"; case .f16: return "F16"; case .bf16: return "BF16"
        case .q4_0: return "Q4_0"; case .q4_1: return "Q4_1"; case .q5_0: return "Q5_0"; case .q5_1: return "Q5_1"
        case .q8_0: return "Q8_0"; case .q8_1: return "Q8_1"; case .q2_K: return "Q2_K"; case .q3_K: return "Q3_K"
        case .q4_K: return "Q4_K"; case .q5_K: return "Q5_K"; case .q6_K: return "Q6_K"; case .q8_K: return "Q8_K"
        }
    }
}
