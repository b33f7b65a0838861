/// Attribute and item access as jinja2's sandboxed environment does it. `a.b` looks for a
/// Python attribute first (so `message.items` is the dict method) and then the item; `a['b']`
/// the other way round. What is missing is an undefined value carrying jinja2's message, which
/// is raised only when the template uses it for more than printing or testing. Methods that
/// would change a list or dict are refused, as ImmutableSandboxedEnvironment refuses them.
enum JinjaMembers {
    static let unsafeListMethods: Set<String> = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear", "__setitem__", "__delitem__"]
    static let unsafeDictMethods: Set<String> = ["pop", "popitem", "setdefault", "update", "clear", "__setitem__", "__delitem__"]

    /// jinja2's "object type repr": "dict object", "None", "str object".
    static func typeLabel(_ v: JinjaValue) -> String { v.isNone ? "None" : "\(v.typeName) object" }

    static func undefinedError(_ v: JinjaValue) -> JinjaFailure {
        guard case .undefined(let name, let hint) = v else { return JinjaFailure(.type, "not an undefined value") }
        if let hint {
            return JinjaFailure(hint.hasPrefix("access to attribute") ? .security : .undefined, hint)
        }
        return JinjaFailure(.undefined, "'\(name)' is undefined")
    }

    static func missing(_ base: JinjaValue, attribute name: String) -> JinjaValue {
        .undefined(name: name, hint: "'\(typeLabel(base))' has no attribute '\(name)'")
    }

    static func attribute(_ base: JinjaValue, _ name: String) throws -> JinjaValue {
        switch base {
        case .undefined: throw undefinedError(base)
        case .dict(let d):
            if let m = JinjaMethods.dictMethod(d, name) { return m }
            if unsafeDictMethods.contains(name) { return unsafe(name, base) }
            return d[name] ?? missing(base, attribute: name)
        case .string(let s): return JinjaMethods.stringMethod(s, name) ?? missing(base, attribute: name)
        case .list(let a), .tuple(let a):
            if case .list = base, unsafeListMethods.contains(name) { return unsafe(name, base) }
            return JinjaMethods.listMethod(a, name) ?? missing(base, attribute: name)
        case .namespace(let n):
            if name == "current", let current = n.current { return current() }
            return n.attributes[name] ?? missing(base, attribute: name)
        case .loop(let l): return JinjaMethods.loopAttribute(l, name) ?? missing(base, attribute: name)
        default: return missing(base, attribute: name)
        }
    }

    private static func unsafe(_ name: String, _ base: JinjaValue) -> JinjaValue {
        .undefined(name: name, hint: "access to attribute '\(name)' of '\(base.typeName)' object is unsafe.")
    }

    static func item(_ base: JinjaValue, _ key: JinjaValue) throws -> JinjaValue {
        switch (base, key) {
        case (.undefined, _): throw undefinedError(base)
        case (.dict(let d), .string(let k)): return try d[k] ?? attribute(base, k)
        case (.list(let a), _), (.tuple(let a), _):
            if case .string(let k) = key { return try attribute(base, k) }
            guard let i = integer(key) else { throw JinjaFailure(.type, "\(base.typeName) indices must be integers or slices, not \(key.typeName)") }
            let j = i < 0 ? a.count + i : i
            return j >= 0 && j < a.count ? a[j] : .undefined(name: String(i), hint: "'\(typeLabel(base))' has no element \(i)")
        case (.string(let s), _):
            if case .string(let k) = key { return try attribute(base, k) }
            guard let i = integer(key) else { throw JinjaFailure(.type, "string indices must be integers, not '\(key.typeName)'") }
            let chars = Array(s)
            let j = i < 0 ? chars.count + i : i
            return j >= 0 && j < chars.count ? .string(String(chars[j])) : .undefined(name: String(i), hint: "'str object' has no element \(i)")
        case (.namespace, .string(let k)), (.loop, .string(let k)): return try attribute(base, k)
        default:
            return .undefined(name: key.pythonRepr, hint: "'\(typeLabel(base))' has no element \(key.pythonRepr)")
        }
    }

    private static func integer(_ v: JinjaValue) -> Int? {
        switch v { case .int(let i): return i; case .bool(let b): return b ? 1 : 0; default: return nil }
    }

    /// Python's `x[start:stop:step]` for lists, tuples and strings.
    static func slice(_ base: JinjaValue, _ start: JinjaValue?, _ stop: JinjaValue?, _ step: JinjaValue?) throws -> JinjaValue {
        func bound(_ v: JinjaValue?) throws -> Int? {
            guard let v, !v.isNone else { return nil }
            guard let i = integer(v) else { throw JinjaFailure(.type, "slice indices must be integers or None") }
            return i
        }
        let stepValue = try bound(step) ?? 1
        guard stepValue != 0 else { throw JinjaFailure(.type, "slice step cannot be zero") }
        func indices(_ n: Int) throws -> [Int] {
            func clamp(_ v: Int?, _ dflt: Int, low: Int, high: Int) -> Int {
                guard var x = v else { return dflt }
                if x < 0 { x += n }
                return min(max(x, low), high)
            }
            if stepValue > 0 {
                let a = clamp(try bound(start), 0, low: 0, high: n), b = clamp(try bound(stop), n, low: 0, high: n)
                return a < b ? Array(stride(from: a, to: b, by: stepValue)) : []
            }
            let a = clamp(try bound(start), n - 1, low: -1, high: n - 1), b = clamp(try bound(stop), -1, low: -1, high: n - 1)
            return a > b ? Array(stride(from: a, to: b, by: stepValue)) : []
        }
        switch base {
        case .list(let a): return .list(try indices(a.count).map { a[$0] })
        case .tuple(let a): return .tuple(try indices(a.count).map { a[$0] })
        case .string(let s):
            let chars = Array(s)
            return .string(String(try indices(chars.count).map { chars[$0] }))
        case .undefined: throw undefinedError(base)
        default: throw JinjaFailure(.type, "'\(base.typeName)' object is not subscriptable")
        }
    }
}
