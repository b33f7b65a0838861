/// A GGUF model file (versions 2 and 3), memory-mapped. The header — metadata key/values and
/// tensor descriptions — is parsed and validated completely at open: sizes, counts, shapes,
/// types and data ranges must all fit the file, so later code can trust them.
public final class GGUFFile {
    public static let magic: UInt32 = 0x4655_4747  // "GGUF" read little-endian
    /// More tensors or keys than any real model has; a larger count means a corrupt file.
    static let maxTensors = 1 << 20
    static let maxKeys = 1 << 20

    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let tensorIndex: [String: Int]
    private let file: MappedFile

    public static func open(path: String) throws -> GGUFFile { try GGUFFile(path: path) }

    /// Long (about 90 lines) on purpose: the header, metadata and tensor table are read in one
    /// pass in file order, each bound checked where it is read; split, the checks would drift
    /// from the reads they guard.
    public init(path: String) throws {
        self.path = path
        file = try MappedFile(path: path)
        var r = ByteReader(base: file.base, size: file.size, source: path)
        guard try r.read(UInt32.self, "magic") == Self.magic else {
            throw VLMError.badInput("\(path): not a GGUF file (bad magic)")
        }
        let version = Int(try r.read(UInt32.self, "version"))
        guard version == 2 || version == 3 else {
            throw VLMError.badInput("\(path): unsupported GGUF version \(version) (supported: 2, 3)")
        }
        self.version = version
        // A tensor info takes at least 8+4+8+4+8 bytes, a key/value at least 8+4+1.
        let tensorCount = try r.readCount("tensor count", minElementBytes: 32, limit: Self.maxTensors)
        let kvCount = try r.readCount("metadata count", minElementBytes: 13, limit: Self.maxKeys)

        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try r.readString("metadata key")
            let type = try r.read(UInt32.self, "type of \(key)")
            let value = try Self.readValue(&r, type: type, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw r.fail("duplicate metadata key \(key)")
            }
        }
        self.metadata = metadata
        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let a = value.intValue else { throw VLMError.badInput("\(path): general.alignment is not an integer") }
            alignment = a
        }
        guard alignment > 0, alignment <= 1 << 16, alignment & (alignment - 1) == 0 else {
            throw VLMError.badInput("\(path): general.alignment \(alignment) is not a power of two up to 65536")
        }
        self.alignment = alignment

        struct Raw { let name: String; let shape: [Int]; let type: GGMLType; let offset: Int }
        var raws: [Raw] = []
        raws.reserveCapacity(min(tensorCount, 4096))
        for _ in 0..<tensorCount {
            let name = try r.readString("tensor name")
            let dims = Int(try r.read(UInt32.self, "dimension count of \(name)"))
            guard (1...4).contains(dims) else { throw r.fail("tensor \(name) has \(dims) dimensions") }
            var shape: [Int] = []
            for _ in 0..<dims {
                let n = try r.read(UInt64.self, "shape of \(name)")
                guard n <= 1 << 40 else { throw r.fail("tensor \(name) has an absurd dimension \(n)") }
                shape.append(Int(n))
            }
            let rawType = try r.read(UInt32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: rawType) else { throw r.fail("tensor \(name) has unknown type \(rawType)") }
            guard type.isSupported else {
                throw VLMError.unsupported("\(path): tensor \(name) has type \(type), which this runtime does not read")
            }
            let offset = try r.read(UInt64.self, "offset of \(name)")
            guard offset <= UInt64(file.size) else { throw r.fail("tensor \(name) offset \(offset) is past the end") }
            raws.append(Raw(name: name, shape: shape, type: type, offset: Int(offset)))
        }
        r.align(to: alignment)
        let dataStart = r.offset
        guard dataStart <= file.size else { throw VLMError.badInput("\(path): truncated before the tensor data") }

        var tensors: [GGUFTensorInfo] = []
        var index: [String: Int] = [:]
        for raw in raws {
            var elements = 1
            for n in raw.shape {
                let (m, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow, m <= 1 << 40 else { throw VLMError.badInput("\(path): tensor \(raw.name) is too large") }
                elements = m
            }
            guard let rowBytes = raw.type.rowBytes(raw.shape[0]) else {
                throw VLMError.badInput("\(path): tensor \(raw.name) row of \(raw.shape[0]) is not a whole number of \(raw.type) blocks")
            }
            let rows = raw.shape[0] == 0 ? 0 : elements / raw.shape[0]
            let bytes = rowBytes * rows
            guard raw.offset % alignment == 0 else {
                throw VLMError.badInput("\(path): tensor \(raw.name) offset \(raw.offset) is not aligned to \(alignment)")
            }
            let start = dataStart + raw.offset
            guard start <= file.size, bytes <= file.size - start else {
                throw VLMError.badInput("\(path): tensor \(raw.name) data (\(bytes) bytes at \(start)) runs past the end of the file (\(file.size) bytes)")
            }
            guard index.updateValue(tensors.count, forKey: raw.name) == nil else {
                throw VLMError.badInput("\(path): duplicate tensor \(raw.name)")
            }
            tensors.append(GGUFTensorInfo(name: raw.name, shape: raw.shape, type: raw.type, offset: start,
                                          elementCount: elements, byteCount: bytes))
        }
        self.tensors = tensors
        tensorIndex = index
    }

    /// Capacity reserved up front for an array read from the file: its count has been checked
    /// against the bytes left, but an element in memory can be larger than its bytes on disk, so
    /// huge arrays grow as they are actually read instead of being allocated from the count.
    static func reservation(_ n: Int) -> Int { min(n, 1 << 16) }

    static func readValue(_ r: inout ByteReader, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .int(Int64(try r.read(UInt8.self, key)))
        case 1: return .int(Int64(try r.read(Int8.self, key)))
        case 2: return .int(Int64(try r.read(UInt16.self, key)))
        case 3: return .int(Int64(try r.read(Int16.self, key)))
        case 4: return .int(Int64(try r.read(UInt32.self, key)))
        case 5: return .int(Int64(try r.read(Int32.self, key)))
        case 6: return .float(Double(try r.readFloat32(key)))
        case 7: return .bool(try r.read(UInt8.self, key) != 0)
        case 8: return .string(try r.readString(key))
        case 10:
            let v = try r.read(UInt64.self, key)
            guard v <= UInt64(Int64.max) else { throw r.fail("\(key) value \(v) does not fit in 64-bit signed") }
            return .int(Int64(v))
        case 11: return .int(try r.read(Int64.self, key))
        case 12: return .float(try r.readFloat64(key))
        case 9:
            guard depth < 4 else { throw r.fail("\(key): arrays nested too deeply") }
            let elementType = try r.read(UInt32.self, "element type of \(key)")
            let minBytes: Int
            switch elementType {
            case 0, 1, 7: minBytes = 1
            case 2, 3: minBytes = 2
            case 4, 5, 6: minBytes = 4
            case 8, 10, 11, 12: minBytes = 8
            case 9: minBytes = 12
            default: throw r.fail("\(key): unknown array element type \(elementType)")
            }
            let n = try r.readCount("length of \(key)", minElementBytes: minBytes)
            switch elementType {
            case 8:
                var a: [String] = []; a.reserveCapacity(Self.reservation(n))
                for _ in 0..<n { a.append(try r.readString(key)) }
                return .stringArray(a)
            case 6, 12:
                var a: [Double] = []; a.reserveCapacity(Self.reservation(n))
                for _ in 0..<n { a.append(elementType == 6 ? Double(try r.readFloat32(key)) : try r.readFloat64(key)) }
                return .floatArray(a)
            case 7:
                var a: [Bool] = []; a.reserveCapacity(Self.reservation(n))
                for _ in 0..<n { a.append(try r.read(UInt8.self, key) != 0) }
                return .boolArray(a)
            case 9:
                var a: [GGUFValue] = []
                for _ in 0..<n { a.append(try readValue(&r, type: 9, key: key, depth: depth + 1)) }
                return .arrayOfArrays(a)
            default:
                var a: [Int64] = []; a.reserveCapacity(Self.reservation(n))
                for _ in 0..<n {
                    guard case .int(let v) = try readValue(&r, type: elementType, key: key, depth: depth + 1) else { throw r.fail(key) }
                    a.append(v)
                }
                return .intArray(a)
            }
        default:
            throw r.fail("\(key) has unknown value type \(type)")
        }
    }

    // MARK: - Tensors

    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    public func data(of t: GGUFTensorInfo) -> UnsafeRawPointer { file.base + t.offset }

    /// A 2-D tensor as a weight matrix: GGUF's ne0 is the row length, so rows = ne1, cols = ne0.
    public func matrix(named name: String) throws -> WeightMatrix {
        guard let t = tensor(named: name) else { throw VLMError.badInput("\(path): missing tensor \(name)") }
        guard t.shape.count == 2 else { throw VLMError.badInput("\(path): tensor \(name) is \(t.shape.count)-D, expected 2-D") }
        return WeightMatrix(type: t.type, rows: t.shape[1], cols: t.shape[0], data: data(of: t), owner: file)
    }

    /// A tensor of any rank flattened and widened to Float (norm weights, biases).
    public func vector(named name: String) throws -> [Float] {
        guard let t = tensor(named: name) else { throw VLMError.badInput("\(path): missing tensor \(name)") }
        let rowLength = t.shape[0]
        guard t.elementCount > 0 else { return [] }
        let rows = t.elementCount / rowLength
        let m = WeightMatrix(type: t.type, rows: rows, cols: rowLength, data: data(of: t), owner: file)
        var out = [Float](repeating: 0, count: t.elementCount)
        out.withUnsafeMutableBufferPointer { m.dequantizeRows(0..<rows, into: $0.baseAddress!) }
        return out
    }

    // MARK: - Typed metadata

    private func missing(_ key: String, _ type: String) -> VLMError {
        metadata[key] == nil ? .badInput("\(path): missing metadata \(key)")
                             : .badInput("\(path): metadata \(key) is not \(type)")
    }
    public func int(_ key: String) throws -> Int { guard let v = metadata[key]?.intValue else { throw missing(key, "an integer") }; return v }
    public func float(_ key: String) throws -> Float { guard let v = metadata[key]?.floatValue else { throw missing(key, "a number") }; return Float(v) }
    public func string(_ key: String) throws -> String { guard let v = metadata[key]?.stringValue else { throw missing(key, "a string") }; return v }
    public func intIfPresent(_ key: String) throws -> Int? { metadata[key] == nil ? nil : try int(key) }
    public func floatIfPresent(_ key: String) throws -> Float? { metadata[key] == nil ? nil : try float(key) }
    public func stringIfPresent(_ key: String) throws -> String? { metadata[key] == nil ? nil : try string(key) }
    public func boolIfPresent(_ key: String) throws -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw missing(key, "a bool") }
        return b
    }
    public func stringArray(_ key: String) throws -> [String] {
        guard case .stringArray(let a)? = metadata[key] else { throw missing(key, "an array of strings") }; return a
    }
    public func floatArray(_ key: String) throws -> [Float] {
        guard let a = try floatArrayIfPresent(key) else { throw missing(key, "an array of numbers") }; return a
    }
    public func intArray(_ key: String) throws -> [Int] {
        guard let a = try intArrayIfPresent(key) else { throw missing(key, "an array of integers") }; return a
    }
    public func floatArrayIfPresent(_ key: String) throws -> [Float]? {
        switch metadata[key] {
        case nil: return nil
        case .floatArray(let a)?: return a.map(Float.init)
        default: throw missing(key, "an array of numbers")
        }
    }
    public func intArrayIfPresent(_ key: String) throws -> [Int]? {
        switch metadata[key] {
        case nil: return nil
        case .intArray(let a)?: return a.map { Int(clamping: $0) }
        default: throw missing(key, "an array of integers")
        }
    }
    public func stringArrayIfPresent(_ key: String) throws -> [String]? { metadata[key] == nil ? nil : try stringArray(key) }
}

public struct GGUFTensorInfo: Sendable {
    public let name: String
    /// ne0 first, as GGUF stores it (ne0 is the contiguous row length).
    public let shape: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the data in the file.
    public let offset: Int
    public let elementCount: Int
    public let byteCount: Int
}
