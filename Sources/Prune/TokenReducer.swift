/// A visual-token reducer: given the tokens of one encoder image (an image, a crop or tile, or
/// a video frame) and the encoder evidence it asked for, chooses what reaches the LLM.
///
/// The flow, driven by Vision's model families:
/// 1. the family asks `needs` and requests those taps from the encoder (only those layers
///    compute explicit attention);
/// 2. it fills a `ReductionInput` with the tokens in the space they are projected from
///    (encoder features for LLaVA families, connector outputs for Idefics3), their patch grid,
///    and the taps;
/// 3. `reduce` returns kept indices (ascending, so spatial order is kept) and any merged
///    tokens, which the family projects and places. Positions are renumbered contiguously,
///    as LLaVA does: the reduced tokens sit where the full set would have started.
public protocol TokenReducer: VisualTokenReducer {
    /// Encoder evidence the method reads.
    var needs: ReducerNeeds { get }
    /// Chooses at most `budget` tokens of `input` (1 <= budget <= input.count).
    func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult

    /// The image-level entry point (AnyRes images: a base image, or thumbnail, plus crops).
    /// Called on the base image's input before it is reduced: scores that guide the crops,
    /// or nil for a method that reduces every crop on its own (the default).
    func imageGuidanceScores(_ input: ReductionInput) throws -> [Float]?
    /// Per-crop guidance for a `rows` x `cols` crop grid from the base image's
    /// `imageGuidanceScores` (a `side` x `side` map) at retention `retention`; nil by default.
    func cropGuidance(baseScores: [Float], side: Int, rows: Int, cols: Int, retention: Float) -> [ThumbnailGuidance]?
}

extension TokenReducer {
    public func imageGuidanceScores(_ input: ReductionInput) throws -> [Float]? { nil }
    public func cropGuidance(baseScores: [Float], side: Int, rows: Int, cols: Int, retention: Float) -> [ThumbnailGuidance]? { nil }
}

/// What a reducer asks of the encoder. Layers are 0-based encoder-layer indices, negative
/// from the end (-2 is the layer LLaVA feeds its projector).
public struct ReducerNeeds: Sendable, Equatable {
    public struct Attention: Sendable, Hashable {
        public var layer: Int
        /// Pre-softmax logits instead of probabilities.
        public var logits: Bool
        /// Only the class token's row (falls back to the full matrix for encoders without one).
        public var classRowOnly: Bool
        public init(layer: Int, logits: Bool = false, classRowOnly: Bool = false) {
            self.layer = layer; self.logits = logits; self.classRowOnly = classRowOnly
        }
    }
    public var attention: [Attention] = []
    /// Head-averaged keys of this layer.
    public var keysLayer: Int?
    /// The tokens in LLM space (after the projector).
    public var projected = false
    public init(attention: [Attention] = [], keysLayer: Int? = nil, projected: Bool = false) {
        self.attention = attention; self.keysLayer = keysLayer; self.projected = projected
    }
}

/// Row-major tokens: `count` rows of `width` floats.
public struct TokenMatrix: Sendable {
    public var values: [Float]
    public var count: Int
    public var width: Int
    public init(values: [Float], count: Int, width: Int) {
        precondition(values.count == count * width, "token matrix of \(values.count) floats is not \(count) x \(width)")
        self.values = values; self.count = count; self.width = width
    }
    public subscript(row: Int) -> ArraySlice<Float> { values[(row * width)..<((row + 1) * width)] }
}

/// A head-averaged attention map from one encoder layer. When the encoder has a class token,
/// index 0 of both axes is it and patch j is index j + 1.
public struct AttentionMap: Sendable {
    public var values: [Float]
    /// 1 (class row only) or `size`.
    public var rows: Int
    /// Tokens on each axis, class token included.
    public var size: Int
    public var hasClassToken: Bool
    public init(values: [Float], rows: Int, size: Int, hasClassToken: Bool) {
        precondition(values.count == rows * size)
        self.values = values; self.rows = rows; self.size = size; self.hasClassToken = hasClassToken
    }
}

/// Everything a reducer may read about one encoder image's tokens.
public struct ReductionInput: Sendable {
    /// The candidate tokens (class token excluded), in raster order of the patch grid.
    public var tokens: TokenMatrix
    public var gridRows: Int
    public var gridCols: Int
    /// The same tokens after the projector, when `needs.projected`.
    public var projected: TokenMatrix?
    /// Requested attention maps, keyed by the request exactly as `needs` wrote it (layer -2
    /// stays -2; the family resolves it for the encoder).
    public var attention: [ReducerNeeds.Attention: AttentionMap]
    /// Head-averaged keys of the requested layer (class token excluded), tokens x head_dim.
    public var keys: TokenMatrix?
    /// For AnyRes crops: where this crop sits in the thumbnail, and the thumbnail's scores
    /// (GlobalCom2's global guidance).
    public var thumbnailGuidance: ThumbnailGuidance?

    public init(tokens: TokenMatrix, gridRows: Int, gridCols: Int, projected: TokenMatrix? = nil,
                attention: [ReducerNeeds.Attention: AttentionMap] = [:], keys: TokenMatrix? = nil,
                thumbnailGuidance: ThumbnailGuidance? = nil) {
        precondition(tokens.count == gridRows * gridCols, "\(tokens.count) tokens on a \(gridRows)x\(gridCols) grid")
        self.tokens = tokens; self.gridRows = gridRows; self.gridCols = gridCols; self.projected = projected
        self.attention = attention; self.keys = keys; self.thumbnailGuidance = thumbnailGuidance
    }
}

/// GlobalCom2's view of a crop from the thumbnail: the thumbnail's score map and the crop's
/// budget scale.
public struct ThumbnailGuidance: Sendable {
    /// The thumbnail's per-patch scores resized to this crop's patch grid.
    public var scores: [Float]
    /// This crop's share of the retention (scale_i of the paper).
    public var scale: Float
    /// Which of the crop's tokens show the image rather than AnyRes padding (nil: all).
    public var valid: [Bool]?
    public init(scores: [Float], scale: Float, valid: [Bool]? = nil) { self.scores = scores; self.scale = scale; self.valid = valid }
}

/// What reaches the LLM from one encoder image: kept tokens in ascending order, then merged
/// tokens (in the input's token space, to be projected like the others).
public struct ReductionResult: Sendable, Equatable {
    public var kept: [Int]
    public var merged: [Float]
    public var mergedCount: Int
    /// For each merged token, the patch it is drawn at in `--show-kept` pictures.
    public var mergedAnchors: [Int]

    public init(kept: [Int], merged: [Float] = [], mergedCount: Int = 0, mergedAnchors: [Int] = []) {
        self.kept = kept; self.merged = merged; self.mergedCount = mergedCount; self.mergedAnchors = mergedAnchors
    }
    public var count: Int { kept.count + mergedCount }
}

/// Keeps every token: the unreduced baseline.
public struct NoReducer: TokenReducer, RegisteredReducer {
    public init() {}
    public static let reducerName = "none"
    public static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer { NoReducer() }
    public var needs: ReducerNeeds { ReducerNeeds() }
    public func reduce(_ input: ReductionInput, budget: Int) throws -> ReductionResult {
        ReductionResult(kept: Array(0..<input.tokens.count))
    }
}
