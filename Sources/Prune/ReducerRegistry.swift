import VLMRuntime

/// Builds a reducer from the command line's `--reducer NAME` and `--reducer-opt key=value`.
/// Unknown names, unknown options and out-of-range values are usage errors (exit code 2).
public enum ReducerRegistry {
    /// Every name `--reducer` accepts for images (dycoke is a video reducer, see its issue).
    public static let names = ["none", "random", "pool", "divprune", "visionzip", "hiprune", "globalcom2", "flextok", "dycoke"]

    /// Reducers that decide their own token count (their options set it) and take no --keep.
    public static let sizesItself: Set<String> = ["dycoke"]

    /// The options each reducer understands.
    public static let options: [String: Set<String>] = [
        "none": [], "random": ["seed"], "pool": [], "divprune": [], "flextok": [],
        "visionzip": ["contextual"], "hiprune": ["alpha", "object_layer"], "globalcom2": ["tau"],
        "dycoke": ["dycoke_k", "dycoke_l", "dycoke_p", "threshold"],
    ]

    public static func make(name: String, options raw: [String], seed: UInt64, encoderLayers: Int) throws -> any TokenReducer {
        guard let allowed = options[name] else {
            throw VLMError.usage("unknown reducer '\(name)' (one of: \(names.joined(separator: ", ")))")
        }
        var opts: [String: String] = [:]
        for item in raw {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw VLMError.usage("--reducer-opt wants key=value, got '\(item)'") }
            guard allowed.contains(parts[0]) else {
                throw VLMError.usage("reducer '\(name)' has no option '\(parts[0])'" + (allowed.isEmpty ? "" : " (options: \(allowed.sorted().joined(separator: ", ")))"))
            }
            opts[parts[0]] = parts[1]
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
            guard let v = opts[key] else { return nil }
            guard let i = Int(v), range.contains(i) else { throw VLMError.usage("\(name) option \(key)=\(v) must be an integer in \(range)") }
            return i
        }
        switch name {
        case "none": return NoReducer()
        case "random": return RandomReducer(seed: try int("seed", 0...Int.max).map(UInt64.init) ?? seed)
        case "pool": return PoolReducer()
        case "divprune": return DivPruneReducer()
        case "flextok": return FlexTokReducer()
        case "globalcom2":
            var tau: Float = 10
            if let v = opts["tau"] {
                guard let t = Float(v), t > 0, t < 1e6 else { throw VLMError.usage("globalcom2 option tau=\(v) must be a positive number") }
                tau = t
            }
            return GlobalCom2Reducer(tau: tau)
        case "dycoke":
            func fraction(_ key: String, _ fallback: Double) throws -> Double {
                guard let v = opts[key] else { return fallback }
                guard let x = Double(v), x >= 0, x < 1 else { throw VLMError.usage("dycoke option \(key)=\(v) must be in [0, 1)") }
                return x
            }
            return DyCokeReducer(mergeRatio: try fraction("dycoke_k", 0.7), pruneLayer: try int("dycoke_l", 1...1000) ?? 3,
                                 pruneRatio: try fraction("dycoke_p", 0.7), threshold: try fraction("threshold", 0.9))
        case "visionzip": return VisionZipReducer(contextual: try int("contextual", 0...100_000))
        case "hiprune":
            var alpha = 0.1
            if let v = opts["alpha"] {
                guard let a = Double(v), a >= 0, a <= 1 else { throw VLMError.usage("hiprune option alpha=\(v) must be in [0, 1]") }
                alpha = a
            }
            return HiPruneReducer(alpha: alpha, objectLayer: try int("object_layer", 0...max(0, encoderLayers - 1)), layerCount: encoderLayers)
        default:
            throw VLMError.usage("unknown reducer '\(name)'")
        }
    }
}
