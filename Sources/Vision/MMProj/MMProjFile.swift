import Foundation
import VLMRuntime

/// A llama.cpp multimodal projector file (`mmproj*.gguf`, `general.architecture` "clip"): the
/// vision tower and projector of a vision-language model whose LLM is a GGUF of its own. Read as
/// llama.cpp's clip.cpp reads it: `clip.projector_type` names the projector, `clip.vision.*`
/// the tower's sizes and preprocessing. Every size is checked before it is used; the tensors
/// are handed to the family's loaders under the Hugging Face names llama.cpp's
/// convert_hf_to_gguf.py read them from (`MMProjTensorNames`), so a pair loads through the
/// same code as the directory it was converted from.
public struct MMProjFile {
    public let file: GGUFFile
    public var path: String { file.path }
    /// `clip.projector_type` (or `clip.vision.projector_type` in files with an audio side).
    public let projectorType: String
    public let hiddenSize: Int
    public let intermediateSize: Int
    public let layerCount: Int
    public let headCount: Int
    public let layerNormEps: Float
    public let imageSize: Int
    public let patchSize: Int
    public let imageMean: [Float]
    public let imageStd: [Float]
    /// `clip.vision.projection_dim`: the projector's output width (the LLM's hidden size).
    public let projectionDim: Int?
    /// `clip.use_gelu` / `clip.use_silu`: the tower's activation (gelu_quick when neither).
    public let usesGELU: Bool
    public let usesSiLU: Bool

    /// Sizes past these are refused as hostile (the largest released towers are ~6k wide, ~64 layers).
    static let limits = (width: 1 << 15, layers: 256, imageSize: 1 << 14)

    public init(path: String) throws {
        let f = try GGUFFile(path: path)
        file = f
        func bad(_ what: String) -> VLMError { .badInput("\(path): \(what)") }
        let architecture = try f.stringIfPresent("general.architecture")
        guard architecture == "clip" else {
            throw bad("not an mmproj file (general.architecture is \(architecture.map { "'\($0)'" } ?? "missing"), expected 'clip')")
        }
        guard try f.boolIfPresent("clip.has_vision_encoder") ?? true else { throw VLMError.unsupported("\(path): has no vision encoder (audio-only mmproj)") }
        guard let type = try f.stringIfPresent("clip.vision.projector_type") ?? f.stringIfPresent("clip.projector_type") else {
            throw bad("missing metadata clip.projector_type")
        }
        projectorType = type
        func size(_ key: String, max: Int) throws -> Int {
            let v = try f.int("clip.vision." + key)
            guard v > 0, v <= max else { throw bad("clip.vision.\(key) = \(v) is out of range (1...\(max))") }
            return v
        }
        hiddenSize = try size("embedding_length", max: Self.limits.width)
        intermediateSize = try size("feed_forward_length", max: 4 * Self.limits.width)
        layerCount = try size("block_count", max: Self.limits.layers)
        headCount = try size("attention.head_count", max: hiddenSize)
        guard hiddenSize % headCount == 0 else { throw bad("clip.vision.embedding_length \(hiddenSize) is not a multiple of \(headCount) heads") }
        imageSize = try size("image_size", max: Self.limits.imageSize)
        patchSize = try size("patch_size", max: imageSize)
        layerNormEps = try f.floatIfPresent("clip.vision.attention.layer_norm_epsilon") ?? 1e-6
        guard layerNormEps.isFinite, layerNormEps > 0, layerNormEps < 1 else { throw bad("clip.vision.attention.layer_norm_epsilon \(layerNormEps) is out of range") }
        func triple(_ key: String) throws -> [Float] {
            guard let v = try f.floatArrayIfPresent("clip.vision." + key) else { throw bad("missing metadata clip.vision.\(key)") }
            guard v.count == 3, v.allSatisfy({ $0.isFinite }) else { throw bad("clip.vision.\(key) is not three finite numbers") }
            return v
        }
        imageMean = try triple("image_mean")
        imageStd = try triple("image_std")
        guard imageStd.allSatisfy({ $0 > 0 }) else { throw bad("clip.vision.image_std has a value <= 0") }
        projectionDim = try f.intIfPresent("clip.vision.projection_dim")
        usesGELU = try f.boolIfPresent("clip.use_gelu") ?? false
        usesSiLU = try f.boolIfPresent("clip.use_silu") ?? false
    }

    /// The tower's activation as transformers names it.
    public var activationName: String { usesSiLU ? "silu" : usesGELU ? "gelu_pytorch_tanh" : "quick_gelu" }

    /// `clip.vision.feature_layer`, when present.
    public func featureLayers() throws -> [Int]? { try file.intArrayIfPresent("clip.vision.feature_layer") }

    /// Whether the file describes an AnyRes grid (LLaVA-NeXT's `image_grid_pinpoints`).
    public var hasAnyResGrid: Bool { file.metadata["clip.vision.image_grid_pinpoints"] != nil }

    /// Whether the file holds `name`.
    public func contains(_ name: String) -> Bool { file.tensor(named: name) != nil }

    /// The GGUF tensor `name` as a checkpoint entry in PyTorch's shape order (GGUF lists ne0,
    /// the contiguous dimension, first; the bytes are the same).
    public func entry(_ name: String) -> TensorCheckpoint.Entry? {
        file.tensor(named: name).map {
            TensorCheckpoint.Entry(type: $0.type, shape: Array($0.shape.reversed()), data: file.data(of: $0), owner: file)
        }
    }

    /// The checkpoint a family's loaders read: each GGUF tensor under the Hugging Face name
    /// `names` gives it (transposed back where the converter transposed it). A tensor the map
    /// does not name is refused: a file of another layout must not load with parts ignored.
    public func checkpoint(_ names: MMProjTensorNames) throws -> TensorCheckpoint {
        var entries: [String: TensorCheckpoint.Entry] = [:]
        var unmapped: [String] = []
        for t in file.tensors where !names.isPart(t.name) {
            guard let hf = names.huggingFaceName(of: t.name), var e = entry(t.name) else { unmapped.append(t.name); continue }
            if let how = names.rearranged[t.name] { e = try rearranged(e, name: t.name, how) }
            entries[hf] = e
        }
        for (hf, c) in names.combined where c.parts.allSatisfy(contains) { entries[hf] = try combined(c, name: hf) }
        guard unmapped.isEmpty else {
            throw VLMError.unsupported("\(path): tensors vlm does not know for projector '\(projectorType)': \(unmapped.sorted().prefix(6).joined(separator: ", "))\(unmapped.count > 6 ? ", ..." : "")")
        }
        return TensorCheckpoint(entries: entries, source: path)
    }

    private func rearranged(_ e: TensorCheckpoint.Entry, name: String, _ how: MMProjTensorNames.Rearrangement) throws -> TensorCheckpoint.Entry {
        let values = try e.floats(source: "\(path): tensor \(name)")
        switch how {
        case .plusOne:
            return TensorCheckpoint.Entry(shape: e.shape, floats: values.map { $0 - 1 })
        case .transposed:
            guard e.shape.count == 2 else { throw VLMError.badInput("\(path): tensor \(name) is \(e.shape.count)-D, expected 2-D") }
            let (r, c) = (e.shape[0], e.shape[1])
            var out = [Float](repeating: 0, count: values.count)
            for i in 0..<r { for j in 0..<c { out[j * r + i] = values[i * c + j] } }
            return TensorCheckpoint.Entry(shape: [c, r], floats: out)
        }
    }

    private func combined(_ c: MMProjTensorNames.Combination, name: String) throws -> TensorCheckpoint.Entry {
        let parts = try c.parts.map { part -> (shape: [Int], values: [Float]) in
            let e = entry(part)!
            return (e.shape, try e.floats(source: "\(path): tensor \(part)"))
        }
        let inner = parts[0].shape.dropFirst()
        guard parts.allSatisfy({ $0.shape.dropFirst() == inner }) else {
            throw VLMError.badInput("\(path): the parts of \(name) (\(c.parts.joined(separator: ", "))) have different shapes")
        }
        switch c.rule {
        case .concatenated:
            return TensorCheckpoint.Entry(shape: [parts.reduce(0) { $0 + $1.shape[0] }] + inner, floats: parts.flatMap(\.values))
        case .timeSlices:
            let s = parts[0].shape
            guard s.count == 4, parts.allSatisfy({ $0.shape == s }) else { throw VLMError.badInput("\(path): \(c.parts[0]) is not a 4-D convolution") }
            let plane = s[2] * s[3], t = parts.count
            var out = [Float](repeating: 0, count: s[0] * s[1] * t * plane)
            for oc in 0..<(s[0] * s[1]) { for (ti, p) in parts.enumerated() {
                for i in 0..<plane { out[(oc * t + ti) * plane + i] = p.values[oc * plane + i] }
            }}
            return TensorCheckpoint.Entry(shape: [s[0], s[1], t, s[2], s[3]], floats: out)
        }
    }
}
