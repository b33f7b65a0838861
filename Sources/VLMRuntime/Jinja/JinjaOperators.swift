import Foundation   // pow, fmod; not a kernel

/// Python's operators on template values: integer arithmetic that stays integral (and refuses
/// to overflow), floor division and modulo rounding toward negative infinity, `+` and `*` on
/// strings and lists, `~` as string concatenation, ordering only between comparable types.
enum JinjaOperators {
    static func unary(_ op: String, _ v: JinjaValue) throws -> JinjaValue {
        if op == "not" { return .bool(!v.truthy) }
        if v.isUndefined { throw JinjaMembers.undefinedError(v) }
        switch (op, v) {
        case ("-", .int(let i)): return .int(0 - i)
        case ("-", .float(let d)): return .float(-d)
        case ("-", .bool(let b)): return .int(b ? -1 : 0)
        case ("+", .int), ("+", .float): return v
        case ("+", .bool(let b)): return .int(b ? 1 : 0)
        default: throw JinjaFailure(.type, "bad operand type for unary \(op): '\(v.typeName)'")
        }
    }

    /// `limit` bounds the strings and lists that `*` and `+` may build.
    static func binary(_ op: String, _ a: JinjaValue, _ b: JinjaValue, limit: Int) throws -> JinjaValue {
        if op == "~" {
            let s = a.pythonStr + b.pythonStr
            guard s.utf8.count <= limit else { throw JinjaFailure(.limit, "a string is over \(limit) bytes") }
            return .string(s)
        }
        if a.isUndefined { throw JinjaMembers.undefinedError(a) }
        if b.isUndefined { throw JinjaMembers.undefinedError(b) }
        switch (op, a, b) {
        case ("+", .string(let x), .string(let y)):
            guard x.utf8.count + y.utf8.count <= limit else { throw JinjaFailure(.limit, "a string is over \(limit) bytes") }
            return .string(x + y)
        case ("%", .string(let s), _):
            let values: [JinjaValue] = { if case .tuple(let t) = b { return t }; return [b] }()
            return .string(try JinjaPrintf.format(s, values))
        case ("+", .list(let x), .list(let y)): return .list(x + y)
        case ("+", .tuple(let x), .tuple(let y)): return .tuple(x + y)
        case ("*", .string(let s), _), ("*", _, .string(let s)):
            guard let n = integer(a.stringValue == nil ? a : b) else { break }
            let size = s.utf8.count.multipliedReportingOverflow(by: max(n, 0))
            guard !size.overflow, size.partialValue <= limit else { throw JinjaFailure(.limit, "a string is over \(limit) bytes") }
            return .string(n <= 0 ? "" : String(repeating: s, count: n))
        case ("*", .list(let l), _), ("*", _, .list(let l)):
            guard let n = integer(a.sequence == nil ? a : b) else { break }
            let size = l.count.multipliedReportingOverflow(by: max(n, 0))
            guard !size.overflow, size.partialValue <= limit else { throw JinjaFailure(.limit, "a list is over \(limit) items") }
            return .list(n <= 0 ? [] : Array([[JinjaValue]](repeating: l, count: n).joined()))
        default: break
        }
        if let x = integer(a), let y = integer(b) { return try integerArithmetic(op, x, y) }
        if let x = a.number, let y = b.number, a.isNumeric, b.isNumeric { return try floatArithmetic(op, x, y) }
        throw JinjaFailure(.type, "unsupported operand type(s) for \(op): '\(a.typeName)' and '\(b.typeName)'")
    }

    private static func integer(_ v: JinjaValue) -> Int? {
        switch v { case .int(let i): return i; case .bool(let b): return b ? 1 : 0; default: return nil }
    }

    private static func integerArithmetic(_ op: String, _ x: Int, _ y: Int) throws -> JinjaValue {
        func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> JinjaValue {
            guard !r.overflow else { throw JinjaFailure(.type, "integer overflow") }
            return .int(r.partialValue)
        }
        switch op {
        case "+": return try checked(x.addingReportingOverflow(y))
        case "-": return try checked(x.subtractingReportingOverflow(y))
        case "*": return try checked(x.multipliedReportingOverflow(by: y))
        case "/":
            guard y != 0 else { throw JinjaFailure(.type, "division by zero") }
            return .float(Double(x) / Double(y))
        case "//", "%":
            guard y != 0 else { throw JinjaFailure(.type, "integer division or modulo by zero") }
            var q = x / y, r = x % y
            if r != 0 && (r < 0) != (y < 0) { q -= 1; r += y }
            return .int(op == "//" ? q : r)
        case "**":
            if y < 0 { return .float(pow(Double(x), Double(y))) }
            var result = 1, base = x, e = y
            while e > 0 {
                if e & 1 == 1 { let r = result.multipliedReportingOverflow(by: base); guard !r.overflow else { throw JinjaFailure(.type, "integer overflow") }; result = r.partialValue }
                e >>= 1
                if e > 0 { let r = base.multipliedReportingOverflow(by: base); guard !r.overflow else { throw JinjaFailure(.type, "integer overflow") }; base = r.partialValue }
            }
            return .int(result)
        default: throw JinjaFailure(.type, "unknown operator \(op)")
        }
    }

    private static func floatArithmetic(_ op: String, _ x: Double, _ y: Double) throws -> JinjaValue {
        switch op {
        case "+": return .float(x + y)
        case "-": return .float(x - y)
        case "*": return .float(x * y)
        case "/":
            guard y != 0 else { throw JinjaFailure(.type, "float division by zero") }
            return .float(x / y)
        case "//", "%":
            guard y != 0 else { throw JinjaFailure(.type, "float modulo") }
            var r = fmod(x, y)
            if r != 0 && (r < 0) != (y < 0) { r += y }
            return .float(op == "%" ? r : ((x - r) / y).rounded())
        case "**": return .float(pow(x, y))
        default: throw JinjaFailure(.type, "unknown operator \(op)")
        }
    }

    static func compare(_ op: String, _ a: JinjaValue, _ b: JinjaValue) throws -> Bool {
        switch op {
        case "==": return JinjaValue.equal(a, b)
        case "!=": return !JinjaValue.equal(a, b)
        case "in": return try contains(b, a)
        case "not in": return try !contains(b, a)
        default:
            let order = try ordering(a, b)
            switch op {
            case "<": return order < 0
            case "<=": return order <= 0
            case ">": return order > 0
            default: return order >= 0
            }
        }
    }

    static func contains(_ container: JinjaValue, _ x: JinjaValue) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let t) = x else { throw JinjaFailure(.type, "'in <string>' requires string as left operand, not \(x.typeName)") }
            return t.isEmpty || s.unicodeScalars.count >= t.unicodeScalars.count && JinjaText.find(s, t, fromRight: false) >= 0
        case .list(let a), .tuple(let a): return a.contains { JinjaValue.equal($0, x) }
        case .dict(let d): if case .string(let k) = x { return d[k] != nil }; return false
        case .namespace(let n): if case .string(let k) = x { return n.attributes[k] != nil }; return false
        case .undefined: return false
        default: throw JinjaFailure(.type, "argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// -1, 0 or 1 for Python's `<` between numbers, strings (by code point) or sequences.
    static func ordering(_ a: JinjaValue, _ b: JinjaValue, depth: Int = 0) throws -> Int {
        guard depth < 200 else { throw JinjaFailure(.limit, "values nested too deeply to compare") }
        if a.isUndefined { throw JinjaMembers.undefinedError(a) }
        if b.isUndefined { throw JinjaMembers.undefinedError(b) }
        if a.isNumeric && b.isNumeric {
            if case .int(let x) = a, case .int(let y) = b { return x < y ? -1 : x == y ? 0 : 1 }
            let x = a.number!, y = b.number!
            return x < y ? -1 : x == y ? 0 : 1
        }
        switch (a, b) {
        case (.string(let x), .string(let y)):
            for (p, q) in zip(x.unicodeScalars, y.unicodeScalars) where p != q { return p.value < q.value ? -1 : 1 }
            let (m, n) = (x.unicodeScalars.count, y.unicodeScalars.count)
            return m < n ? -1 : m == n ? 0 : 1
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            for (p, q) in zip(x, y) where !JinjaValue.equal(p, q) { return try ordering(p, q, depth: depth + 1) }
            return x.count < y.count ? -1 : x.count == y.count ? 0 : 1
        default:
            throw JinjaFailure(.type, "'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'")
        }
    }
}
