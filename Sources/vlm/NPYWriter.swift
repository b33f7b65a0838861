import Foundation
import VLMRuntime

/// Writes float32 arrays in NumPy's .npy format (version 1.0, little-endian '<f4', C order), the
/// format reference scripts load with `numpy.load`.
enum NPYWriter {
    static func write(_ values: [Float], shape: [Int], to path: String) throws {
        let dims = shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? "," : "")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        // Magic (6) + version (2) + length (2) + header + newline must be a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { data.append(UnsafeBufferPointer(start: UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: UInt8.self), count: $0.count * 4)) }
        guard FileManager.default.createFile(atPath: path, contents: data) else {
            throw VLMError.runtime("cannot write \(path)")
        }
    }
}
