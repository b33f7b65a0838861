import VLMRuntime

/// One intermediate result a caller (a reducer) wants from the encoder. Layers are 0-based
/// encoder-layer indices; negative values count from the end (-1 = last layer, -2 = the one
/// LLaVA feeds its projector). Only tapped layers compute explicit attention; every other
/// layer keeps the fast path.
public struct EncoderTap: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// The layer's output hidden states, tokens x hidden.
        case hidden
        /// The layer's keys averaged over heads, tokens x headDim.
        case keys
        /// softmax(QK^T / sqrt(d_h)) averaged over heads: tokens x tokens, or 1 x tokens with `clsRowOnly`.
        case attentionProbabilities
        /// QK^T / sqrt(d_h) (before the softmax) averaged over heads, same shapes.
        case attentionLogits
    }
    public var layer: Int
    public var kind: Kind
    /// Only the first query row (the CLS token's) is wanted.
    public var clsRowOnly: Bool

    public init(layer: Int, kind: Kind, clsRowOnly: Bool = false) {
        self.layer = layer; self.kind = kind; self.clsRowOnly = clsRowOnly
    }
}

/// What to compute for one image.
public struct EncoderRequest: Sendable {
    /// Which hidden state is the feature output, in Hugging Face's `hidden_states` numbering:
    /// 0 = embeddings, i = output of layer i, negative from the end (-1 = last layer, -2 = the
    /// one before). Layers after it are skipped.
    public var featureLayer: Int
    /// Apply the encoder's final (post-)layernorm to the features, as `last_hidden_state`
    /// does (SmolVLM, DINOv2); LLaVA families read raw `hidden_states[...]` and do not.
    public var applyPostLayerNorm: Bool
    public var taps: [EncoderTap]

    public init(featureLayer: Int = -1, applyPostLayerNorm: Bool = false, taps: [EncoderTap] = []) {
        self.featureLayer = featureLayer; self.applyPostLayerNorm = applyPostLayerNorm; self.taps = taps
    }
}

/// The encoder's result for one image.
public struct EncoderOutput: Sendable {
    /// tokens x hiddenSize, row-major, class token (if any) first.
    public var features: [Float]
    public var tokenCount: Int
    public var hiddenSize: Int
    /// Whether row 0 of `features` (and of every tap) is a class token.
    public var hasClassToken: Bool
    /// Patch grid (rows x cols) of the non-class tokens.
    public var gridRows: Int
    public var gridCols: Int
    /// The requested taps, keyed with layers already resolved to non-negative indices.
    public var taps: [EncoderTap: [Float]]

    public init(features: [Float], tokenCount: Int, hiddenSize: Int, hasClassToken: Bool,
                gridRows: Int, gridCols: Int, taps: [EncoderTap: [Float]] = [:]) {
        self.features = features; self.tokenCount = tokenCount; self.hiddenSize = hiddenSize
        self.hasClassToken = hasClassToken; self.gridRows = gridRows; self.gridCols = gridCols; self.taps = taps
    }
}

/// A ViT: CLIP, SigLIP or DINOv2.
public protocol VisionEncoder: AnyObject, Sendable {
    var hiddenSize: Int { get }
    var layerCount: Int { get }
    var patchSize: Int { get }
    var hasClassToken: Bool { get }
    /// Encodes image `index` of `pixels`.
    func encode(_ pixels: PixelBatch, index: Int, request: EncoderRequest) throws -> EncoderOutput
}
