/// jinja2's built-in filters as chat templates use them (plus transformers' `tojson`), with
/// jinja2's treatment of undefined values: most filters read an undefined value as "" or as an
/// empty sequence, `default` replaces it, `tojson` refuses it.
enum JinjaFilters {
    static let names: Set<String> = ["abs", "attr", "batch", "pprint", "slice", "striptags", "capitalize", "center", "count", "d", "default", "dictsort", "e",
                                     "escape", "first", "float", "forceescape", "format", "indent", "int", "items", "join",
                                     "last", "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace",
                                     "reverse", "round", "safe", "select", "selectattr", "sort", "string", "sum", "title",
                                     "tojson", "trim", "truncate", "unique", "upper", "wordcount"]

    static func run(_ name: String, _ v: JinjaValue, _ a: JinjaArgs, _ interpreter: JinjaInterpreter) throws -> JinjaValue {
        switch name {
        case "safe", "forceescape": return v
        case "string": return .string(v.pythonStr)
        case "lower": return .string(v.pythonStr.lowercased())
        case "upper": return .string(v.pythonStr.uppercased())
        case "capitalize": return .string(JinjaText.capitalize(v.pythonStr))
        case "title": return .string(title(v.pythonStr))
        case "trim": return .string(JinjaText.strip(v.pythonStr, chars: try a.string(0, "chars"), left: true, right: true))
        case "replace":
            guard let old = try a.string(0, "old"), let new = try a.string(1, "new") else { throw JinjaFailure(.type, "replace needs two strings") }
            return .string(JinjaText.replace(v.pythonStr, old, new, count: try a.int(2, "count", default: -1)))
        case "e", "escape": return .string(escape(v.pythonStr))
        case "center":
            return try JinjaMembers.attribute(.string(v.pythonStr), "center").callable(JinjaArgs([.int(try a.int(0, "width", default: 80))]))
        case "indent": return .string(try indent(v.pythonStr, a))
        case "truncate": return .string(try truncate(v.pythonStr, a))
        case "wordcount": return .int(v.pythonStr.split { !($0.isLetter || $0.isNumber || $0 == "_") }.count)
        case "format": return .string(try JinjaPrintf.format(v.pythonStr, a.positional))
        case "length", "count": return .int(try length(v))
        case "default", "d":
            let useDefault = v.isUndefined || (a.bool(1, "boolean", default: false) && !v.truthy)
            return useDefault ? a.get(0, "default_value") ?? .string("") : v
        case "first", "last":
            let items = try interpreter.iterate(v)
            guard let item = name == "first" ? items.first : items.last else {
                return .undefined(name: name, hint: "No \(name) item, sequence was empty.")
            }
            return item
        case "list": return .list(try interpreter.iterate(v))
        case "reverse":
            if case .string(let s) = v { return .string(String(s.unicodeScalars.reversed().map(Character.init))) }
            return .list(try interpreter.iterate(v).reversed())
        case "join":
            var items = try interpreter.iterate(v)
            if let attribute = a.get(1, "attribute") { items = try items.map { try JinjaSequenceFilters.lookup($0, attribute) } }
            return .string(items.map(\.pythonStr).joined(separator: try a.string(0, "d") ?? ""))
        case "int": return integer(v, default: a.get(0, "default") ?? .int(0), base: try a.int(1, "base", default: 10))
        case "float": return float(v, default: a.get(0, "default") ?? .float(0))
        case "abs":
            switch v {
            case .int(let i): return .int(abs(i))
            case .float(let d): return .float(abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw JinjaFailure(.type, "bad operand type for abs(): '\(v.typeName)'")
            }
        case "round": return try round(v, a)
        case "items":
            if v.isUndefined { return .list([]) }
            guard case .dict(let d) = v else { throw JinjaFailure(.type, "can only get item pairs from a mapping.") }
            return .list(d.pairs.map { .tuple([.string($0.key), $0.value]) })
        case "attr":
            guard let n = try a.string(0, "name") else { throw JinjaFailure(.type, "attr needs a name") }
            if case .dict(let d) = v { return JinjaMethods.dictMethod(d, n) ?? JinjaMembers.missing(v, attribute: n) }
            return try JinjaMembers.attribute(v, n)
        case "tojson": return .string(try JinjaJSON.dumps(v, a))
        case "pprint": return .string(v.pythonRepr)
        case "striptags": return .string(stripTags(v.pythonStr))
        default:
            return try JinjaSequenceFilters.run(name, v, a, interpreter)
        }
    }

    static func length(_ v: JinjaValue) throws -> Int {
        switch v {
        case .string(let s): return s.unicodeScalars.count
        case .list(let x), .tuple(let x): return x.count
        case .dict(let d): return d.count
        case .undefined: return 0
        case .namespace(let n): return n.attributes.count
        default: throw JinjaFailure(.type, "object of type '\(v.typeName)' has no len()")
        }
    }

    /// jinja2's `title`: words begin after a run of spaces, '-', '(', '{', '[' or '<'.
    static func title(_ s: String) -> String {
        var out = "", atStart = true
        for c in s {
            if c.isWhitespace || "-({[<".contains(c) { out.append(c); atStart = true; continue }
            out += atStart ? c.uppercased() : c.lowercased()
            atStart = false
        }
        return out
    }

    /// jinja2's `striptags`: tags and comments removed, whitespace runs collapsed to one space.
    static func stripTags(_ s: String) -> String {
        var out = "", inTag = false
        for c in s {
            if c == "<" { inTag = true; continue }
            if c == ">" && inTag { inTag = false; continue }
            if !inTag { out.append(c) }
        }
        return out.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// jinja2's `indent(width=4, first=False, blank=False)`; `width` may be a string.
    static func indent(_ s: String, _ a: JinjaArgs) throws -> String {
        let w = a.get(0, "width") ?? .int(4)
        let pad = try w.stringValue ?? String(repeating: " ", count: a.int(0, "width", default: 4))
        let lines = JinjaText.splitLines(s + "\n", keepEnds: false)
        var out: String
        if a.bool(2, "blank", default: false) {
            out = lines.joined(separator: "\n" + pad)
        } else {
            out = lines.first ?? ""
            let rest = lines.dropFirst()
            if !rest.isEmpty { out += "\n" + rest.map { $0.isEmpty ? $0 : pad + $0 }.joined(separator: "\n") }
        }
        return a.bool(1, "first", default: false) ? pad + out : out
    }

    static func truncate(_ s: String, _ a: JinjaArgs) throws -> String {
        let length = try a.int(0, "length", default: 255), leeway = try a.int(3, "leeway", default: 5)
        let end = try a.string(2, "end") ?? "..."
        let chars = Array(s.unicodeScalars)
        if chars.count <= length + leeway { return s }
        let cut = JinjaText.string(chars.prefix(max(0, length - end.unicodeScalars.count)))
        if a.bool(1, "killwords", default: false) { return cut + end }
        return (try JinjaText.split(cut, separator: " ", maxSplit: 1, fromRight: true).first ?? cut) + end
    }

    /// `int(value)`, then `int(float(value))`, else the default, as jinja2's filter tries them.
    static func integer(_ v: JinjaValue, default d: JinjaValue, base: Int) -> JinjaValue {
        switch v {
        case .int: return v
        case .bool(let b): return .int(b ? 1 : 0)
        case .float(let x): return x.isFinite && abs(x) < 9.2e18 ? .int(Int(x)) : d
        case .string(let s):
            let t = JinjaText.strip(s, chars: nil, left: true, right: true).replacingOccurrences(of: "_", with: "")
            if let i = Int(t, radix: base) { return .int(i) }
            if let x = Double(t), x.isFinite, abs(x) < 9.2e18 { return .int(Int(x)) }
            return d
        default: return d
        }
    }

    static func float(_ v: JinjaValue, default d: JinjaValue) -> JinjaValue {
        switch v {
        case .float: return v
        case .int(let i): return .float(Double(i))
        case .bool(let b): return .float(b ? 1 : 0)
        case .string(let s):
            let t = JinjaText.strip(s, chars: nil, left: true, right: true).lowercased()
            switch t {
            case "inf", "+inf", "infinity", "+infinity": return .float(.infinity)
            case "-inf", "-infinity": return .float(-.infinity)
            case "nan", "+nan", "-nan": return .float(.nan)
            default: return Double(t.replacingOccurrences(of: "_", with: "")).map(JinjaValue.float) ?? d
            }
        default: return d
        }
    }

    /// `round(precision=0, method='common'|'ceil'|'floor')`; 'common' is Python's round (half to even).
    static func round(_ v: JinjaValue, _ a: JinjaArgs) throws -> JinjaValue {
        guard let x = v.number else { throw JinjaFailure(.type, "type \(v.typeName) doesn't define __round__ method") }
        let precision = try a.int(0, "precision", default: 0)
        let method = try a.string(1, "method") ?? "common"
        let scale = pow10(precision)
        switch method {
        case "common":
            if case .int = v { return v }
            return .float((x * scale).rounded(.toNearestOrEven) / scale)
        case "ceil": return .float((x * scale).rounded(.up) / scale)
        case "floor": return .float((x * scale).rounded(.down) / scale)
        default: throw JinjaFailure(.type, "method must be 'common', 'ceil' or 'floor'")
        }
    }

    private static func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<abs(n) { r *= 10 }
        return n < 0 ? 1 / r : r
    }
}

extension JinjaValue {
    /// Calls a bound method value with `args`.
    func callable(_ args: JinjaArgs) throws -> JinjaValue {
        guard case .callable(let c) = self else { throw JinjaFailure(.type, "'\(typeName)' object is not callable") }
        return try c.call(args.positional, args.keyword)
    }
}
