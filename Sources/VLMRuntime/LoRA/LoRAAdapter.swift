import Foundation

/// A LoRA adapter in llama.cpp's GGUF format (convert_lora_to_gguf.py: `general.type` "adapter",
/// `adapter.type` "lora", `adapter.lora.alpha`, tensors `blk.N.<product>.weight.lora_a` [ne: in,
/// rank] and `.lora_b` [ne: rank, out]). Each product's update is scaled by
/// user_scale · alpha / rank, as llama.cpp scales it (alpha 0: the user scale alone). For Llama
/// GGUFs, whose converter permutes the q and k rows for llama.cpp's RoPE, the adapter converter
/// permutes lora_b's rows the same way, so the update lands on the rows the base has.
public struct LoRAAdapter: Sendable {
    public let name: String
    public let alpha: Float
    /// One entry per decoder layer (empty updates where the adapter leaves a layer alone).
    public let layers: [LayerDeltas]
    /// The largest rank among the updates (the decoder's scratch per pass).
    public let maxRank: Int

    /// The products an adapter may adapt, by their GGUF names.
    static let products: [(gguf: String, path: WritableKeyPath<LayerDeltas, LowRankDelta?>)] = [
        ("attn_q", \.query), ("attn_k", \.key), ("attn_v", \.value), ("attn_output", \.output),
        ("ffn_gate", \.gate), ("ffn_up", \.up), ("ffn_down", \.down)]

    /// Loads `path` for `config`, every factor checked against the base's shapes.
    public init(path: String, scale userScale: Float = 1, for config: DecoderConfig) throws {
        let f = try GGUFFile(path: path)
        func bad(_ what: String) -> VLMError { .badInput("\(path): \(what)") }
        guard try f.stringIfPresent("general.type") == "adapter", try f.stringIfPresent("adapter.type") == "lora" else {
            throw bad("not a LoRA adapter (general.type must be 'adapter' and adapter.type 'lora')")
        }
        guard userScale.isFinite, abs(userScale) <= 1000 else { throw VLMError.usage("--lora scale \(userScale) is out of range") }
        name = String(path.split(separator: "/").last ?? Substring(path))
        alpha = try f.floatIfPresent("adapter.lora.alpha") ?? 0
        guard alpha.isFinite, alpha >= 0 else { throw bad("adapter.lora.alpha \(alpha) is out of range") }
        let c = config
        let q = c.headCount * c.headDim, kv = c.kvHeadCount * c.headDim, d = c.hiddenSize, ffn = c.intermediateSize
        let shapes: [String: (in: Int, out: Int)] = [
            "attn_q": (d, q), "attn_k": (d, kv), "attn_v": (d, kv), "attn_output": (q, d),
            "ffn_gate": (d, ffn), "ffn_up": (d, ffn), "ffn_down": (ffn, d)]
        var used = 0
        var layers = [LayerDeltas](repeating: LayerDeltas(), count: c.layerCount)
        for i in 0..<c.layerCount {
            for (product, path) in Self.products {
                let stem = "blk.\(i).\(product).weight"
                guard let ta = f.tensor(named: stem + ".lora_a") else { continue }
                guard let tb = f.tensor(named: stem + ".lora_b") else { throw bad("\(stem).lora_a has no lora_b") }
                let shape = shapes[product]!
                // GGUF lists ne0 (the contiguous length) first: lora_a is rank rows of `in`, lora_b `out` rows of rank.
                guard ta.shape.count == 2, tb.shape.count == 2, ta.shape[0] == shape.in, tb.shape[1] == shape.out,
                      ta.shape[1] == tb.shape[0], ta.shape[1] > 0, ta.shape[1] <= min(shape.in, shape.out) else {
                    throw bad("\(stem): lora_a \(ta.shape) and lora_b \(tb.shape) do not fit a \(shape.in) -> \(shape.out) product of this model")
                }
                let rank = ta.shape[1]
                let scale = userScale * (alpha > 0 ? alpha / Float(rank) : 1)
                layers[i][keyPath: path] = LowRankDelta(a: try f.vector(named: stem + ".lora_a"), b: try f.vector(named: stem + ".lora_b"),
                                                        rank: rank, inFeatures: shape.in, outFeatures: shape.out, scale: scale)
                used += 2
            }
        }
        let loraTensors = f.tensors.filter { $0.name.hasSuffix(".lora_a") || $0.name.hasSuffix(".lora_b") }.count
        guard used > 0 else { throw bad("holds no LoRA factors for this model's \(c.layerCount) layers") }
        guard used == loraTensors else {
            let known = Set((0..<c.layerCount).flatMap { i in Self.products.flatMap { p in ["a", "b"].map { "blk.\(i).\(p.gguf).weight.lora_\($0)" } } })
            let other = f.tensors.map(\.name).filter { ($0.hasSuffix(".lora_a") || $0.hasSuffix(".lora_b")) && !known.contains($0) }
            throw VLMError.unsupported("\(path): LoRA factors vlm does not apply: \(other.prefix(4).joined(separator: ", "))")
        }
        self.layers = layers
        maxRank = layers.flatMap(\.all).map(\.rank).max() ?? 0
    }

    /// `--lora FILE[:SCALE]`: the path and the scale (1 when not given).
    public static func parse(_ argument: String) throws -> (path: String, scale: Float) {
        if let colon = argument.lastIndex(of: ":"), let s = Float(argument[argument.index(after: colon)...]) {
            return (String(argument[..<colon]), s)
        }
        return (argument, 1)
    }
}
