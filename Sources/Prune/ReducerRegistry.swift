import VLMRuntime

/// Builds a reducer from the command line's `--reducer NAME` and `--reducer-opt key=value`.
/// The registry is a list of types; each reducer declares its own name and options
/// (`RegisteredReducer`). Unknown names, unknown options and out-of-range values are usage
/// errors (exit code 2).
public enum ReducerRegistry {
    /// Every reducer `--reducer` accepts, in the order help texts list them.
    public static let types: [any RegisteredReducer.Type] = [
        NoReducer.self, RandomReducer.self, PoolReducer.self, DivPruneReducer.self, VisionZipReducer.self,
        HiPruneReducer.self, GlobalCom2Reducer.self, FlexTokReducer.self, DyCokeReducer.self,
    ]

    public static var names: [String] { types.map { $0.reducerName } }

    /// Reducers that decide their own token count (their options set it) and take no --keep.
    public static var sizesItself: Set<String> { Set(types.filter { $0.sizesItself }.map { $0.reducerName }) }

    /// The options each reducer understands.
    public static var options: [String: Set<String>] {
        Dictionary(uniqueKeysWithValues: types.map { ($0.reducerName, Set($0.optionNames)) })
    }

    public static func type(named name: String) throws -> any RegisteredReducer.Type {
        guard let type = types.first(where: { $0.reducerName == name }) else {
            throw VLMError.usage("unknown reducer '\(name)' (one of: \(names.joined(separator: ", ")))")
        }
        return type
    }

    public static func make(name: String, options raw: [String], seed: UInt64, encoderLayers: Int) throws -> any VisualTokenReducer {
        let type = try type(named: name)
        let allowed = Set(type.optionNames)
        var values: [String: String] = [:]
        for item in raw {
            let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw VLMError.usage("--reducer-opt wants key=value, got '\(item)'") }
            guard allowed.contains(parts[0]) else {
                throw VLMError.usage("reducer '\(name)' has no option '\(parts[0])'" + (allowed.isEmpty ? "" : " (options: \(allowed.sorted().joined(separator: ", ")))"))
            }
            values[parts[0]] = parts[1]
        }
        return try type.make(ReducerOptions(reducer: name, values: values, seed: seed, encoderLayers: encoderLayers))
    }
}
