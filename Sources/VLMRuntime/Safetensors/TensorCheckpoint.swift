import Foundation

/// A model's tensors under their Hugging Face names, each read in place from a memory mapping:
/// a checkpoint directory's `model.safetensors` (or the shards `model.safetensors.index.json`
/// lists), or tensors another format holds under other names (a llama.cpp mmproj GGUF, renamed
/// to the names its converter read) handed over as entries. Shapes are PyTorch's (outermost
/// first); a 2-D tensor is a weight matrix of shape[0] rows of shape[1] values.
public final class TensorCheckpoint {
    /// One tensor: its storage type, PyTorch-order shape and data, kept alive by `owner`.
    public struct Entry {
        public let type: GGMLType
        public let shape: [Int]
        public let data: UnsafeRawPointer
        public let owner: AnyObject
        public var elementCount: Int { shape.reduce(1, *) }

        /// The values widened to Float; `source` names the tensor in errors.
        public func floats(source: String) throws -> [Float] {
            guard elementCount > 0 else { return [] }
            let rowLength = shape.last ?? 1
            guard rowLength > 0, rowLength % type.blockSize == 0 else {
                throw VLMError.badInput("\(source): rows of \(rowLength) are not whole \(type) blocks")
            }
            let rows = elementCount / rowLength
            let m = WeightMatrix(type: type, rows: rows, cols: rowLength, data: data, owner: owner)
            var out = [Float](repeating: 0, count: elementCount)
            out.withUnsafeMutableBufferPointer { m.dequantizeRows(0..<rows, into: $0.baseAddress!) }
            return out
        }

        public init(type: GGMLType, shape: [Int], data: UnsafeRawPointer, owner: AnyObject) {
            self.type = type; self.shape = shape; self.data = data; self.owner = owner
        }

        /// Float32 values the entry owns (a tensor a loader had to rearrange).
        public init(shape: [Int], floats: [Float]) {
            precondition(floats.count == shape.reduce(1, *), "\(floats.count) values for shape \(shape)")
            let m = WeightMatrix(rows: 1, cols: floats.count, floats: floats)
            self.init(type: .f32, shape: shape, data: m.data, owner: m.owner)
        }
    }

    /// Shape and storage type of a tensor.
    public struct TensorInfo: Sendable {
        public let shape: [Int]
        public let type: GGMLType
        public var elementCount: Int { shape.reduce(1, *) }
    }

    /// Where the tensors came from (a directory or a file), for error messages.
    public let directory: String
    private let entries: [String: Entry]

    /// Tensors handed over by a loader of another format.
    public init(entries: [String: Entry], source: String) {
        self.entries = entries
        directory = source
    }

    public convenience init(directory: String) throws {
        let index = directory + "/model.safetensors.index.json"
        var files: [String: SafetensorsFile] = [:]
        var fileOf: [String: SafetensorsFile] = [:]
        if FileManager.default.fileExists(atPath: index) {
            guard let data = (try SmallFile.read(index)),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = json["weight_map"] as? [String: String]
            else { throw VLMError.badInput("\(index): not a safetensors index (no weight_map)") }
            for (tensor, shard) in map {
                guard !shard.contains("/") else { throw VLMError.badInput("\(index): shard name '\(shard)' leaves the directory") }
                if files[shard] == nil { files[shard] = try SafetensorsFile(path: directory + "/" + shard) }
                guard files[shard]!.tensor(named: tensor) != nil else {
                    throw VLMError.badInput("\(index): tensor \(tensor) is not in \(shard)")
                }
                fileOf[tensor] = files[shard]
            }
        } else {
            let single = try SafetensorsFile(path: directory + "/model.safetensors")
            for name in single.tensors.keys { fileOf[name] = single }
        }
        var entries: [String: Entry] = [:]
        for (name, file) in fileOf { entries[name] = file.entry(named: name) }
        self.init(entries: entries, source: directory)
    }

    public var tensorNames: [String] { Array(entries.keys) }
    public func contains(_ name: String) -> Bool { entries[name] != nil }
    /// Shape and type of a tensor, nil when absent.
    public func info(named name: String) -> TensorInfo? { entries[name].map { TensorInfo(shape: $0.shape, type: $0.type) } }

    private func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else { throw VLMError.badInput("\(directory): missing tensor \(name)") }
        return e
    }

    /// A 2-D tensor as a weight matrix [rows = shape[0], cols = shape[1]], in place (PyTorch's
    /// Linear weight is [out_features, in_features], one output per row).
    public func matrix(named name: String) throws -> WeightMatrix {
        let e = try entry(name)
        guard e.shape.count == 2 else { throw VLMError.badInput("\(directory): tensor \(name) is \(e.shape.count)-D, expected 2-D") }
        guard e.shape[1] % e.type.blockSize == 0 else {
            throw VLMError.badInput("\(directory): tensor \(name) rows of \(e.shape[1]) are not whole \(e.type) blocks")
        }
        return WeightMatrix(type: e.type, rows: e.shape[0], cols: e.shape[1], data: e.data, owner: e.owner)
    }

    /// Any tensor's values widened to Float (norm weights, biases, convolutions).
    public func floats(named name: String) throws -> [Float] {
        try entry(name).floats(source: "\(directory): tensor \(name)")
    }
}
