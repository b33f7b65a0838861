import Foundation
import VLMRuntime

/// A minimal GGUF writer for tests: builds a file in memory from metadata and tensors, and
/// records where each header field landed so hostile-input tests can corrupt exactly one.
public struct GGUFWriter {
    /// A metadata value with its exact GGUF wire type.
    public indirect enum Value {
        case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32)
        case f32(Float), bool(Bool), string(String), u64(UInt64), i64(Int64), f64(Double)
        /// GGUF arrays are homogeneous: `elementType` is written once, then each element's payload.
        case array(elementType: UInt32, [Value])

        public var typeID: UInt32 {
            switch self {
            case .u8: return 0; case .i8: return 1; case .u16: return 2; case .i16: return 3
            case .u32: return 4; case .i32: return 5; case .f32: return 6; case .bool: return 7
            case .string: return 8; case .array: return 9; case .u64: return 10; case .i64: return 11
            case .f64: return 12
            }
        }
    }

    public struct Tensor {
        public var name: String
        public var shape: [UInt64]     // ne0 first
        public var type: UInt32        // ggml type id
        public var data: [UInt8]
    }

    public init() {}

    public var version: UInt32 = 3
    public var metadata: [(String, Value)] = []
    public var tensors: [Tensor] = []
    /// Alignment used to place tensor data; written as general.alignment only if in `metadata`.
    public var alignment = 32

    /// Byte offsets of header fields, keyed "tensorCount", "kvCount", "kv.<key>" (the key's
    /// length field), "kv.<key>.type", "kv.<key>.value", "tensor.<name>" (the name's length
    /// field), "tensor.<name>.nDims", ".dims", ".type", ".offset", and "data" (data section start).
    public private(set) var fields: [String: Int] = [:]

    public mutating func add(_ key: String, _ value: Value) { metadata.append((key, value)) }
    public mutating func add(tensor name: String, shape: [Int], type: GGMLType, data: [UInt8]) {
        tensors.append(Tensor(name: name, shape: shape.map(UInt64.init), type: type.rawValue, data: data))
    }

    public mutating func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func putString(_ s: String) { put(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        func putPayload(_ v: Value) {
            switch v {
            case .u8(let x): put(x); case .i8(let x): put(x); case .u16(let x): put(x); case .i16(let x): put(x)
            case .u32(let x): put(x); case .i32(let x): put(x); case .f32(let x): put(x.bitPattern)
            case .bool(let x): put(UInt8(x ? 1 : 0)); case .string(let s): putString(s)
            case .u64(let x): put(x); case .i64(let x): put(x); case .f64(let x): put(x.bitPattern)
            case .array(let t, let a): put(t); put(UInt64(a.count)); a.forEach(putPayload)
            }
        }
        fields = [:]
        put(GGUFFile.magic)
        put(version)
        fields["tensorCount"] = out.count
        put(UInt64(tensors.count))
        fields["kvCount"] = out.count
        put(UInt64(metadata.count))
        for (key, value) in metadata {
            fields["kv.\(key)"] = out.count
            putString(key)
            fields["kv.\(key).type"] = out.count
            put(value.typeID)
            fields["kv.\(key).value"] = out.count
            putPayload(value)
        }
        var offsets: [Int] = []
        var dataSize = 0
        for t in tensors {
            dataSize = (dataSize + alignment - 1) / alignment * alignment
            offsets.append(dataSize)
            dataSize += t.data.count
        }
        for (t, offset) in zip(tensors, offsets) {
            fields["tensor.\(t.name)"] = out.count
            putString(t.name)
            fields["tensor.\(t.name).nDims"] = out.count
            put(UInt32(t.shape.count))
            fields["tensor.\(t.name).dims"] = out.count
            t.shape.forEach { put($0) }
            fields["tensor.\(t.name).type"] = out.count
            put(t.type)
            fields["tensor.\(t.name).offset"] = out.count
            put(UInt64(offset))
        }
        while out.count % alignment != 0 { out.append(0) }
        fields["data"] = out.count
        let start = out.count
        for (t, offset) in zip(tensors, offsets) {
            while out.count < start + offset { out.append(0) }
            out.append(contentsOf: t.data)
        }
        return out
    }
}

/// Writes bytes to a fresh temporary file and removes it when the scope ends.
public final class TempFile {
    public let path: String
    public init(_ bytes: [UInt8], name: String = "test") {
        path = NSTemporaryDirectory() + "vlm-\(name)-\(UUID().uuidString).gguf"
        write(bytes)
    }
    public func write(_ bytes: [UInt8]) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

extension Array where Element == UInt8 {
    /// Overwrites bytes at `offset` with the little-endian bytes of `value`.
    public mutating func patch<T: FixedWidthInteger>(_ offset: Int, _ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { for (i, b) in $0.enumerated() { self[offset + i] = b } }
    }
}

/// Raw little-endian bytes of float values, f16 values, etc., for tensor payloads.
public func rawBytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

extension GGUFWriter {
    /// A writer holding everything `file` holds (metadata with its values' kinds, tensors with
    /// their bytes), to be changed and written again: hostile variants of a real file.
    public init(copying file: GGUFFile) {
        self.init()
        for (key, value) in file.metadata.sorted(by: { $0.key < $1.key }) {
            if let v = Self.value(value) { add(key, v) }
        }
        for t in file.tensors {
            let bytes = Array(UnsafeRawBufferPointer(start: file.data(of: t), count: t.byteCount))
            add(tensor: t.name, shape: t.shape, type: t.type, data: bytes)
        }
    }

    static func value(_ v: GGUFValue) -> Value? {
        switch v {
        case .int(let x): return .i64(x)
        case .float(let x): return .f32(Float(x))
        case .bool(let x): return .bool(x)
        case .string(let s): return .string(s)
        case .intArray(let a): return .array(elementType: 11, a.map { .i64($0) })
        case .floatArray(let a): return .array(elementType: 6, a.map { .f32(Float($0)) })
        case .boolArray(let a): return .array(elementType: 7, a.map { .bool($0) })
        case .stringArray(let a): return .array(elementType: 8, a.map { .string($0) })
        case .arrayOfArrays: return nil
        }
    }

    /// Replaces (or adds) metadata `key`.
    public mutating func set(_ key: String, _ value: Value) {
        metadata.removeAll { $0.0 == key }
        add(key, value)
    }
}
