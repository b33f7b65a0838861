import Foundation

/// A safetensors file, memory-mapped: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw data. Every number in the
/// header is checked against the file before any tensor is touched: a hostile header (absurd
/// length, offsets past the end, a byte range that does not match the shape) is refused with
/// `VLMError.badInput`.
public final class SafetensorsFile {
    public struct TensorInfo: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        /// Absolute byte offset in the file and byte count.
        public let offset: Int
        public let byteCount: Int
        public var elementCount: Int { shape.reduce(1, *) }
    }

    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16"
        var size: Int { self == .f32 ? 4 : 2 }
        var ggmlType: GGMLType {
            switch self { case .f32: return .f32; case .f16: return .f16; case .bf16: return .bf16 }
        }
    }

    /// The JSON header may not exceed this (real headers of 1,000-tensor models are ~100 KB).
    public static let maxHeaderBytes = 64 << 20

    public let path: String
    public let tensors: [String: TensorInfo]
    public let metadata: [String: String]
    private let file: MappedFile

    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        func bad(_ what: String) -> VLMError { .badInput("\(path): \(what)") }
        guard file.size >= 8 else { throw bad("too short for a safetensors header") }
        let rawLength = UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self))
        // Compare as UInt64 first: a hostile length need not fit in Int.
        guard rawLength >= 2, rawLength <= UInt64(Self.maxHeaderBytes), Int(rawLength) <= file.size - 8 else {
            throw bad("header length \(rawLength) does not fit the file (\(file.size) bytes)")
        }
        let headerLength = Int(rawLength)
        let headerData = Data(bytes: file.base + 8, count: headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = v as? String }
                continue
            }
            guard let entry = value as? [String: Any],
                  let dtypeName = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any],
                  let offsets = entry["data_offsets"] as? [Any], offsets.count == 2
            else { throw bad("tensor '\(name)' lacks dtype, shape or data_offsets") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw bad("tensor '\(name)' has unsupported dtype \(dtypeName) (supported: F32, F16, BF16)")
            }
            let shape = try shapeValues.map { v -> Int in
                guard let n = Self.exactInt(v, limit: 1 << 40) else { throw bad("tensor '\(name)' has an invalid shape") }
                return n
            }
            guard shape.count <= 8 else { throw bad("tensor '\(name)' has \(shape.count) dimensions") }
            var elements = 1
            for n in shape {
                let (m, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow, m <= 1 << 40 else { throw bad("tensor '\(name)' is too large") }
                elements = m
            }
            guard let begin = Self.exactInt(offsets[0], limit: 1 << 52), let end = Self.exactInt(offsets[1], limit: 1 << 52),
                  end >= begin, end <= dataSize
            else { throw bad("tensor '\(name)' has data offsets outside the file") }
            guard end - begin == elements * dtype.size else {
                throw bad("tensor '\(name)' has \(end - begin) bytes, its shape needs \(elements * dtype.size)")
            }
            tensors[name] = TensorInfo(name: name, dtype: dtype, shape: shape, offset: dataStart + begin, byteCount: end - begin)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// A JSON number that is a whole number in 0...limit. NSNumber's `intValue` would truncate
    /// 6.5 to 6 and wrap 1e30 or 2^64 to arbitrary values, so the number must survive the
    /// round trip through Int64 exactly.
    static func exactInt(_ value: Any, limit: Int) -> Int? {
        guard let n = value as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d.isFinite, d >= 0, d <= Double(limit), d.rounded(.towardZero) == d else { return nil }
        let i = n.int64Value
        guard i >= 0, i <= limit, Double(i) == d else { return nil }
        return Int(i)
    }

    public func tensor(named name: String) -> TensorInfo? { tensors[name] }

    /// A 2-D tensor as a weight matrix [rows = shape[0], cols = shape[1]] read in place from the
    /// mapping (PyTorch's Linear weight is [out_features, in_features], one output per row).
    public func matrix(named name: String) throws -> WeightMatrix {
        guard let t = tensors[name] else { throw VLMError.badInput("\(path): missing tensor \(name)") }
        guard t.shape.count == 2 else { throw VLMError.badInput("\(path): tensor \(name) is not 2-D") }
        return WeightMatrix(type: t.dtype.ggmlType, rows: t.shape[0], cols: t.shape[1],
                            data: file.base + t.offset, owner: file)
    }

    /// A tensor as a checkpoint entry, read in place.
    func entry(named name: String) -> TensorCheckpoint.Entry? {
        tensors[name].map { TensorCheckpoint.Entry(type: $0.dtype.ggmlType, shape: $0.shape, data: file.base + $0.offset, owner: file) }
    }

    /// Any tensor's values widened to Float (norm weights, biases).
    public func floats(named name: String) throws -> [Float] {
        guard let t = tensors[name] else { throw VLMError.badInput("\(path): missing tensor \(name)") }
        let m = WeightMatrix(type: t.dtype.ggmlType, rows: 1, cols: t.elementCount, data: file.base + t.offset, owner: file)
        var out = [Float](repeating: 0, count: t.elementCount)
        out.withUnsafeMutableBufferPointer { m.dequantizeRows(0..<1, into: $0.baseAddress!) }
        return out
    }
}
