import Foundation
import XCTest

/// Model weights a fixture does not commit: tools/make_qwen_vl_fixtures.py lists every tensor
/// (name, shape, offset, scale, dtype) in weights.json and fills it with a generator this file
/// reproduces bit for bit, so a model of a real checkpoint's widths (hundreds of MB) becomes a
/// few KB of fixture. value[i] = offset + scale * u, u = (top byte of splitmix64(fnv1a64(name) + i)
/// - 128) / 128, computed in Float64 and rounded to Float32; scales are powers of two, so
/// matrices are exact in BF16 (how they are stored, as real checkpoints are).
public enum GeneratedWeights {
    struct Manifest: Decodable {
        let generator: String
        let tensors: [Tensor]
    }
    struct Tensor: Decodable {
        let name: String
        let shape: [Int]
        let offset: Double
        let scale: Double
        let dtype: String
        let sum: Double?
    }

    static func fnv1a64(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h ^= UInt64(b); h = h &* 0x0000_0100_0000_01b3 }
        return h
    }

    @inline(__always) static func splitmix64(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The tensor's values as float32.
    static func values(_ t: Tensor) -> [Float] {
        let n = t.shape.reduce(1, *), seed = fnv1a64(t.name)
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { o in
            for i in 0..<n {
                let u = Double(Int(splitmix64(seed &+ UInt64(i)) >> 56) - 128) / 128
                o[i] = Float(t.offset + t.scale * u)
            }
        }
        return out
    }

    /// A model directory in a temporary folder: the fixture's files (linked) plus a
    /// model.safetensors generated from its weights.json; `rename` gives the names each tensor
    /// is written under (another checkpoint layout; none drops it, two store a copy, as an
    /// untied lm_head beside its embedding). Checks each tensor's sum against the manifest's.
    public static func materialize(fixture: String, rename: (String) -> [String] = { [$0] }) throws -> String {
        let fm = FileManager.default
        let dir = NSTemporaryDirectory() + "vlm-generated-\(getpid())-\(UUID().uuidString.prefix(8))"
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: fixture) where name != "weights.json" {
            try fm.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: fixture + "/" + name)
        }
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(contentsOf: URL(fileURLWithPath: fixture + "/weights.json")))
        guard manifest.generator == "fnv1a64-splitmix64-int8" else { throw NSError(domain: "generator \(manifest.generator)", code: 1) }
        var header: [String: Any] = [:]
        var offset = 0
        var entries: [(Tensor, String)] = []
        for t in manifest.tensors {
            for name in rename(t.name) {
                let bytes = t.shape.reduce(1, *) * (t.dtype == "BF16" ? 2 : 4)
                header[name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + bytes]]
                offset += bytes
                entries.append((t, name))
            }
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        fm.createFile(atPath: dir + "/model.safetensors", contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/model.safetensors"))
        defer { try? handle.close() }
        var length = UInt64(json.count).littleEndian
        handle.write(Data(bytes: &length, count: 8))
        handle.write(json)
        for (t, _) in entries {
            let v = values(t)
            if let sum = t.sum {
                let got = v.reduce(0.0) { $0 + Double($1) }
                guard abs(got - sum) <= 1e-6 * max(1, abs(sum)) + 1e-3 else {
                    throw NSError(domain: "\(t.name): generated sum \(got), manifest \(sum)", code: 2)
                }
            }
            if t.dtype == "BF16" {
                let halves = v.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16).littleEndian }
                halves.withUnsafeBytes { handle.write(Data($0)) }
            } else {
                v.withUnsafeBytes { handle.write(Data($0)) }
            }
        }
        return dir
    }

    public static func remove(_ dir: String) { try? FileManager.default.removeItem(atPath: dir) }
}
