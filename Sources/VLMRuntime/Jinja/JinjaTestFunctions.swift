/// jinja2's tests (`x is name`), with Python's type rules: a bool is a number but not an
/// integer, an undefined value is iterable (as jinja2's Undefined is), a string is a sequence.
enum JinjaTestFunctions {
    static func run(_ name: String, _ v: JinjaValue, _ args: [JinjaValue], _ interpreter: JinjaInterpreter) throws -> Bool {
        func argument() throws -> JinjaValue {
            guard let a = args.first else { throw JinjaFailure(.type, "the '\(name)' test takes an argument") }
            return a
        }
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": return v.isNone
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .float = v { return true }; return false
        case "number": return v.isNumeric
        case "string": if case .string = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "iterable":
            switch v { case .list, .tuple, .dict, .string, .undefined, .namespace: return true; default: return false }
        case "sequence":
            switch v { case .list, .tuple, .dict, .string, .undefined: return true; default: return false }
        case "callable": if case .callable = v { return true }; return false
        case "sameas": return identical(v, try argument())
        case "escaped": return false
        case "even", "odd":
            guard case .int(let i) = v else {
                if case .bool(let b) = v { return (b ? 1 : 0) % 2 == (name == "odd" ? 1 : 0) }
                throw JinjaFailure(.type, "the '\(name)' test needs an integer, not '\(v.typeName)'")
            }
            return (i % 2 != 0) == (name == "odd")
        case "divisibleby":
            guard let d = try argument().number, let x = v.number, d != 0 else { throw JinjaFailure(.type, "divisibleby needs non-zero numbers") }
            return x.truncatingRemainder(dividingBy: d) == 0
        case "eq", "equalto", "==": return JinjaValue.equal(v, try argument())
        case "ne", "!=": return !JinjaValue.equal(v, try argument())
        case "lt", "lessthan", "<": return try JinjaOperators.ordering(v, try argument()) < 0
        case "le", "<=": return try JinjaOperators.ordering(v, try argument()) <= 0
        case "gt", "greaterthan", ">": return try JinjaOperators.ordering(v, try argument()) > 0
        case "ge", ">=": return try JinjaOperators.ordering(v, try argument()) >= 0
        case "in": return try JinjaOperators.contains(try argument(), v)
        case "lower": if case .string(let s) = v { return s == s.lowercased() }; return false
        case "upper": if case .string(let s) = v { return s == s.uppercased() }; return false
        case "filter": if case .string(let s) = v { return JinjaFilters.names.contains(s) }; return false
        case "test": if case .string(let s) = v { return names.contains(s) }; return false
        default: throw JinjaFailure(.syntax, "No test named '\(name)'.")
        }
    }

    static let names: Set<String> = ["defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number",
                                     "string", "mapping", "iterable", "sequence", "callable", "sameas", "escaped", "even", "odd",
                                     "divisibleby", "eq", "equalto", "==", "ne", "!=", "lt", "lessthan", "<", "le", "<=", "gt",
                                     "greaterthan", ">", "ge", ">=", "in", "lower", "upper", "filter", "test"]

    /// Python's `is`: singletons and small values by value, objects by reference.
    private static func identical(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        switch (a, b) {
        case (.none, .none): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y && x >= -5 && x <= 256   // CPython's cached ints
        case (.string(let x), .string(let y)): return x == y
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.callable(let x), .callable(let y)): return x === y
        default: return false
        }
    }
}
