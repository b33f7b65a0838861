import Foundation   // Date for strftime_now

/// A compiled Jinja2 template with the semantics transformers renders chat templates with:
/// `ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)`, the loop controls,
/// `{% generation %}`, and the globals `raise_exception` and `strftime_now`, the filter
/// `tojson` as transformers defines it.
///
///     let t = try JinjaTemplate(source)
///     let text = try t.render(["messages": messages, "add_generation_prompt": .bool(true)])
///
/// Nothing a template does reaches files, the environment or the network; output size, macro
/// nesting and loop iterations are bounded by `JinjaLimits`. Errors are `JinjaError`s with the
/// template's line and column.
public struct JinjaTemplate: @unchecked Sendable {   // immutable after parsing
    public let source: String
    private let nodes: [JinjaNode]
    private let sourceMap: JinjaSourceMap

    public init(_ source: String) throws {
        self.source = source
        let scalars = Self.normalized(source)
        sourceMap = JinjaSourceMap(scalars)
        nodes = try JinjaParser.parse(scalars)
    }

    /// jinja2's lexer reads every line break as "\n" and drops one trailing newline
    /// (keep_trailing_newline is off).
    private static func normalized(_ source: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(source.unicodeScalars.count)
        var previousCR = false
        for u in source.unicodeScalars {
            if u == "\r" { out.append("\n"); previousCR = true; continue }
            if u == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            out.append(u)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    /// Renders with `variables` as the template's context. `now` is what `strftime_now` formats.
    public func render(_ variables: [String: JinjaValue], now: Date = Date(), limits: JinjaLimits = JinjaLimits()) throws -> String {
        let scope = JinjaScope(parent: nil)
        scope.variables = variables
        return try render(in: scope, now: now, limits: limits)
    }

    /// Renders in a given top-level scope (tests hold it weakly to see that a render frees what
    /// it made).
    func render(in scope: JinjaScope, now: Date, limits: JinjaLimits) throws -> String {
        let interpreter = JinjaInterpreter(sourceMap: sourceMap, limits: limits, now: now)
        defer { interpreter.releaseReferences() }
        do {
            _ = try interpreter.run(nodes, scope)
        } catch let f as JinjaFailure {
            throw interpreter.positioned(f)
        }
        return interpreter.output
    }
}

extension JinjaValue {
    /// A JSON document as template data: objects keep their member order, numbers written
    /// without a fraction are ints (as Python's json reads them).
    public static func parseJSON(_ text: String) throws -> JinjaValue {
        JinjaValue(json: try JSONValue.parse(Array(text.utf8)))
    }

    init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .integer(let i): self = .int(i)
        case .number(let d): self = .float(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(JinjaValue.init(json:)))
        case .object(let members):
            var d = JinjaDict()
            for m in members { d[m.key] = JinjaValue(json: m.value) }
            self = .dict(d)
        }
    }

    /// A dictionary with string keys, in the order given.
    public static func object(_ pairs: KeyValuePairs<String, JinjaValue>) -> JinjaValue {
        var d = JinjaDict()
        for (k, v) in pairs { d[k] = v }
        return .dict(d)
    }
}
