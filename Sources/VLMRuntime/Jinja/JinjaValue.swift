/// A value inside a running Jinja template, with Python's data model: what the template sees of
/// the messages, tools and special tokens it is given, and what its expressions compute.
///
/// Why Python's model and not Swift's: chat templates are written against Jinja2 on CPython, so
/// `1 == 1.0`, `'' is false`, `None` printing as "None", dictionaries keeping insertion order and
/// `7 // -2 == -4` are part of the prompt a model was trained on.
public indirect enum JinjaValue {
    /// A name or attribute that does not exist. `name` is what was looked up, `hint` Jinja's
    /// wording for the error raised when the template uses it for anything but printing or tests.
    case undefined(name: String, hint: String?)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([JinjaValue])
    case tuple([JinjaValue])
    case dict(JinjaDict)
    /// `namespace(...)`: the one mutable object a template can make (for `{% set ns.x = ... %}`).
    case namespace(JinjaNamespace)
    /// A macro, a global function (`range`, `raise_exception`...) or a bound method (`s.strip`).
    case callable(JinjaCallable)
    /// The `loop` variable of a `for` block.
    case loop(JinjaLoop)

    public static func undefined(_ name: String) -> JinjaValue { .undefined(name: name, hint: nil) }

    public var isUndefined: Bool { if case .undefined = self { return true }; return false }
    public var isNone: Bool { if case .none = self { return true }; return false }

    /// Python's truth value (`bool(x)`); an undefined value is false.
    public var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .float(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let a), .tuple(let a): return !a.isEmpty
        case .dict(let d): return !d.isEmpty
        case .namespace, .callable, .loop: return true
        }
    }

    /// Python's type name, as error messages and `'x' object has no attribute` hints spell it.
    public var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        case .loop: return "LoopContext"
        }
    }

    /// The items of a list or tuple.
    var sequence: [JinjaValue]? {
        switch self { case .list(let a), .tuple(let a): return a; default: return nil }
    }

    /// A number as a Double (bools count, as in Python).
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .float(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
}

/// A Python dict with string keys (JSON's objects, template dict literals): insertion order kept,
/// lookups by hash.
public struct JinjaDict {
    public private(set) var keys: [String] = []
    private var storage: [String: JinjaValue] = [:]

    public init() {}
    public init(_ pairs: [(String, JinjaValue)]) { for (k, v) in pairs { self[k] = v } }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }
    public var values: [JinjaValue] { keys.map { storage[$0]! } }
    public var pairs: [(key: String, value: JinjaValue)] { keys.map { ($0, storage[$0]!) } }

    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }
}

/// The attributes of a `namespace()`: a reference, so an assignment in a loop is seen after it.
public final class JinjaNamespace {
    var attributes: JinjaDict
    /// For a `cycler()`: its `current` item, computed when read.
    var current: (() -> JinjaValue)?
    init(_ attributes: JinjaDict) { self.attributes = attributes }
}

/// Something a template can call. `call` gets positional and keyword arguments, evaluated.
public final class JinjaCallable {
    let name: String
    let call: (_ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws -> JinjaValue
    init(_ name: String, _ call: @escaping ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) {
        self.name = name; self.call = call
    }
}

/// `loop.*` inside a `for` block. The items are the (filtered) sequence being iterated.
public final class JinjaLoop {
    let items: [JinjaValue]
    var index0 = 0
    let depth0: Int
    var lastChanged: [JinjaValue]?
    init(items: [JinjaValue], depth0: Int) { self.items = items; self.depth0 = depth0 }
}

extension JinjaValue {
    /// Python's `==`: numbers compare by value across int, float and bool; containers
    /// element-wise; an undefined value equals nothing but another undefined.
    static func equal(_ a: JinjaValue, _ b: JinjaValue, depth: Int = 0) -> Bool {
        guard depth < 200 else { return false }   // nesting a template built without bound
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let x), .string(let y)): return x == y
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1, depth: depth + 1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.pairs.allSatisfy { p in y[p.key].map { equal(p.value, $0, depth: depth + 1) } ?? false }
        case (.namespace(let x), .namespace(let y)): return x === y
        case (.callable(let x), .callable(let y)): return x === y
        case (.loop(let x), .loop(let y)): return x === y
        default:
            if let x = a.number, let y = b.number, a.isNumeric, b.isNumeric { return x == y && exactIntegers(a, b) }
            return false
        }
    }

    var isNumeric: Bool {
        switch self { case .int, .float, .bool: return true; default: return false }
    }

    /// Two Ints beyond 2^53 must not be compared through Double.
    private static func exactIntegers(_ a: JinjaValue, _ b: JinjaValue) -> Bool {
        if case .int(let x) = a, case .int(let y) = b { return x == y }
        return true
    }
}
