/// The evaluated arguments of a builtin call, read the way Python binds them: by position, or
/// by name, with a default.
struct JinjaArgs {
    let positional: [JinjaValue]
    let keyword: [(String, JinjaValue)]
    init(_ positional: [JinjaValue], _ keyword: [(String, JinjaValue)] = []) {
        self.positional = positional; self.keyword = keyword
    }

    /// The argument at `index` (counting from the first after the value a filter applies to),
    /// or the keyword `name`.
    func get(_ index: Int, _ name: String) -> JinjaValue? {
        if index < positional.count { return positional[index] }
        return keyword.first { $0.0 == name }?.1
    }

    func bool(_ index: Int, _ name: String, default d: Bool) -> Bool { get(index, name)?.truthy ?? d }

    func int(_ index: Int, _ name: String, default d: Int) throws -> Int {
        guard let v = get(index, name), !v.isNone else { return d }
        switch v {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: throw JinjaFailure(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
        }
    }

    func string(_ index: Int, _ name: String) throws -> String? {
        guard let v = get(index, name), !v.isNone else { return nil }
        guard case .string(let s) = v else { throw JinjaFailure(.type, "expected a string argument, got '\(v.typeName)'") }
        return s
    }
}
