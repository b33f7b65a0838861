import VLMRuntime

/// What every reducer is: something `--reducer NAME` builds. Two kinds exist, and the pipeline
/// asks which one it holds instead of naming concrete types:
/// - `TokenReducer` (TokenReducer.swift) reduces the tokens of one encoder image (an image, a
///   crop or tile, or one video frame) to a budget;
/// - `TemporalTokenReducer` works across the frames of a video and may also set how the KV
///   cache is read while decoding (DyCoke's two stages).
public protocol VisualTokenReducer: Sendable {
    /// The name used by `--reducer`.
    var name: String { get }
}

extension VisualTokenReducer where Self: RegisteredReducer {
    public var name: String { Self.reducerName }
}

/// A reducer across video frames. It sizes itself (its options say how much it drops), so it
/// takes no `--keep`, and it never sees a single image: the pipeline refuses that case before
/// any reducer runs.
public protocol TemporalTokenReducer: VisualTokenReducer {
    /// The merged visual sequence of `frames` frames of `tokensPerFrame` rows of `width` floats
    /// stored frame after frame, and each frame's kept token indices (ascending).
    func mergeFrames(_ rows: [Float], frames: Int, tokensPerFrame: Int, width: Int) -> (rows: [Float], kept: [[Int]])
    /// Visual tokens `mergeFrames` leaves of `frames` frames of `tokensPerFrame` tokens.
    func mergedCount(frames: Int, tokensPerFrame: Int) -> Int
    /// The cache to decode with, wrapping `base`, for a prompt whose visual tokens are at
    /// `visual`; nil when the method's decode-time policy cannot apply to `base` (the caller
    /// says so and decodes with `base`).
    func decodingCache(base: KVCache, visual: Range<Int>, layerCount: Int) -> KVCache?
}

/// A reducer type the registry lists: its `--reducer` name, the `--reducer-opt` keys it
/// understands, and how it is built from them. Adding a reducer is one file with one such type
/// plus one line in `ReducerRegistry.types`.
public protocol RegisteredReducer {
    static var reducerName: String { get }
    /// The `--reducer-opt` keys this reducer understands.
    static var optionNames: [String] { get }
    /// True for reducers that decide their own token count (no `--keep`/`--keep-ratio`).
    static var sizesItself: Bool { get }
    /// Builds the reducer; `options` holds only keys from `optionNames` (values unchecked).
    static func make(_ options: ReducerOptions) throws -> any VisualTokenReducer
}

extension RegisteredReducer {
    public static var optionNames: [String] { [] }
    public static var sizesItself: Bool { false }
}

/// The `--reducer-opt key=value` pairs of one reducer, with the typed, range-checked readers
/// reducers build themselves from. A bad value is a usage error naming the reducer and key.
public struct ReducerOptions: Sendable {
    public let reducer: String
    public let values: [String: String]
    /// The run's `--seed` (a seeded reducer's default).
    public let seed: UInt64
    /// Layers of the model's vision encoder (for layer-relative options).
    public let encoderLayers: Int

    public init(reducer: String, values: [String: String], seed: UInt64, encoderLayers: Int) {
        self.reducer = reducer; self.values = values; self.seed = seed; self.encoderLayers = encoderLayers
    }

    public func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = values[key] else { return nil }
        guard let i = Int(v), range.contains(i) else { throw VLMError.usage("\(reducer) option \(key)=\(v) must be an integer in \(range)") }
        return i
    }

    /// A real number checked by `accept`; `expected` says what is allowed (for the message).
    public func double(_ key: String, expected: String, _ accept: (Double) -> Bool) throws -> Double? {
        guard let v = values[key] else { return nil }
        guard let x = Double(v), x.isFinite, accept(x) else { throw VLMError.usage("\(reducer) option \(key)=\(v) must be \(expected)") }
        return x
    }
}
