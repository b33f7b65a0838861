import Foundation   // Date only

/// Variables visible at one point of a template. `for` bodies (each iteration) and macro calls
/// get a child scope, so a `set` inside them is not seen after them; `if` blocks do not, as in
/// jinja2.
final class JinjaScope {
    var variables: [String: JinjaValue] = [:]
    let parent: JinjaScope?
    init(parent: JinjaScope?) { self.parent = parent }

    func lookup(_ name: String) -> JinjaValue? {
        var s: JinjaScope? = self
        while let scope = s {
            if let v = scope.variables[name] { return v }
            s = scope.parent
        }
        return nil
    }
}

/// Bounds on what one render may do: a template is untrusted input.
public struct JinjaLimits: Sendable {
    /// Bytes of output (UTF-8).
    public var maxOutputBytes = 16 << 20
    /// Macro calls in progress at once (each is a few dozen stack frames; serve renders on
    /// worker threads with ordinary stacks).
    public var maxCallDepth = 64
    /// Loop iterations in one render, all loops together.
    public var maxIterations = 1_000_000
    public init() {}
}

/// Runs a parsed template. Output goes to `output`; macro calls and block sets render into a
/// fresh buffer that becomes their value.
final class JinjaInterpreter {
    enum Flow { case normal, breakLoop, continueLoop }

    let sourceMap: JinjaSourceMap
    let limits: JinjaLimits
    var output = ""
    /// The construct being evaluated, for the position of errors raised inside builtins.
    var offset = 0
    private var iterations = 0
    private var callDepth = 0
    /// Container nodes the nesting checks have looked at (JinjaNesting.swift).
    var nestingVisits = 0
    /// The reference objects this render made, released together when it ends (see
    /// `releaseReferences`).
    private var macroScopes: [MacroScope] = []
    private var namespaces: [JinjaNamespace] = []

    /// The time `strftime_now` formats.
    let now: Date

    init(sourceMap: JinjaSourceMap, limits: JinjaLimits, now: Date) {
        self.sourceMap = sourceMap; self.limits = limits; self.now = now
    }

    /// A builtin's failure as a positioned template error.
    func positioned(_ failure: JinjaFailure) -> JinjaError {
        let (line, column) = sourceMap.position(offset)
        return JinjaError(failure.kind, failure.message, line: line, column: column)
    }

    func write(_ s: String) throws {
        output += s
        if output.utf8.count > limits.maxOutputBytes {
            throw JinjaFailure(.limit, "the template's output is over \(limits.maxOutputBytes) bytes")
        }
    }

    func run(_ nodes: [JinjaNode], _ scope: JinjaScope) throws -> Flow {
        for node in nodes {
            let flow = try execute(node, scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: JinjaNode, _ scope: JinjaScope) throws -> Flow {
        switch node {
        case .text(let t):
            try write(t)
        case .output(let e, let at):
            let v = try eval(e, scope)
            offset = at
            try write(v.pythonStr)
        case .ifBlock(let branches, let otherwise):
            for branch in branches where try eval(branch.condition, scope).truthy {
                return try run(branch.body, scope)
            }
            return try run(otherwise, scope)
        case .forBlock(let target, let iterable, let condition, let body, let otherwise, let at):
            return try runFor(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise, at: at, scope)
        case .set(let target, let e, let at):
            let v = try eval(e, scope)
            offset = at
            try assign(target, v, scope)
        case .setBlock(let target, let body, let filters, let at):
            var v = JinjaValue.string(try capture { _ = try run(body, scope) })
            offset = at
            for f in filters { v = try applyFilter(f.name, to: v, f.arguments, scope) }
            try assign(target, v, scope)
        case .macro(let definition):
            scope.variables[definition.name] = .callable(makeMacro(definition, scope))
        case .filterBlock(let filters, let body, let at):
            var v = JinjaValue.string(try capture { _ = try run(body, scope) })
            offset = at
            for f in filters { v = try applyFilter(f.name, to: v, f.arguments, scope) }
            try write(v.pythonStr)
        case .with(let assignments, let body):
            let inner = JinjaScope(parent: scope)
            for a in assignments { inner.variables[a.name] = try eval(a.value, scope) }
            return try run(body, inner)
        case .callBlock(let callExpr, let caller, let at):
            guard case .call(let callee, let arguments, _) = callExpr else { return .normal }
            let f = try eval(callee, scope)
            var (args, kwargs) = try evalArguments(arguments, scope)
            kwargs.append(("caller", .callable(makeMacro(caller, scope))))
            offset = at
            try write(try guarded { try call(f, args, kwargs) }.pythonStr)
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    /// What `body` writes, as a string, leaving the surrounding output untouched.
    func capture(_ body: () throws -> Void) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    private func runFor(target: JinjaTarget, iterable: JinjaExpr, condition: JinjaExpr?, body: [JinjaNode],
                        otherwise: [JinjaNode], at: Int, _ scope: JinjaScope) throws -> Flow {
        let source = try eval(iterable, scope)
        offset = at
        var items = try iterate(source)
        if let condition {
            items = try items.filter { item in
                let probe = JinjaScope(parent: scope)
                try assign(target, item, probe)
                return try eval(condition, probe).truthy
            }
        }
        if items.isEmpty { return try run(otherwise, scope) }
        // loop.depth counts recursion (`recursive` loops, not supported), not nesting: always 1.
        let loop = JinjaLoop(items: items, depth0: 0)
        for (i, item) in items.enumerated() {
            iterations += 1
            guard iterations <= limits.maxIterations else {
                throw positioned(JinjaFailure(.limit, "the template ran more than \(limits.maxIterations) loop iterations"))
            }
            loop.index0 = i
            let inner = JinjaScope(parent: scope)
            inner.variables["loop"] = .loop(loop)
            try assign(target, item, inner)
            if try run(body, inner) == .breakLoop { break }
        }
        return .normal
    }

    /// The items a `for` walks: a sequence's items, a dict's keys, a string's characters.
    func iterate(_ v: JinjaValue) throws -> [JinjaValue] {
        switch v {
        case .list(let a), .tuple(let a): return a
        case .dict(let d): return d.keys.map(JinjaValue.string)
        case .string(let s): return s.map { .string(String($0)) }
        case .undefined: return []
        case .namespace(let n): return n.attributes.keys.map(JinjaValue.string)
        default: throw positioned(JinjaFailure(.type, "'\(v.typeName)' object is not iterable"))
        }
    }

    func assign(_ target: JinjaTarget, _ value: JinjaValue, _ scope: JinjaScope) throws {
        switch target {
        case .name(let n):
            scope.variables[n] = value
        case .attribute(let object, let attribute):
            guard case .namespace(let ns)? = scope.lookup(object) else {
                throw positioned(JinjaFailure(.type, "cannot assign attribute on non-namespace object"))
            }
            guard !attribute.hasPrefix("_") else { throw positioned(JinjaGlobals.underscoreRefusal(attribute)) }
            ns.attributes[attribute] = value
            _ = try checkedNesting(.namespace(ns))
        case .tuple(let targets):
            let items = try iterate(value)
            guard items.count == targets.count else {
                throw positioned(JinjaFailure(.type, items.count > targets.count
                    ? "too many values to unpack (expected \(targets.count))"
                    : "not enough values to unpack (expected \(targets.count), got \(items.count))"))
            }
            for (t, v) in zip(targets, items) { try assign(t, v, scope) }
        }
    }

    /// A macro as a callable: arguments bound by position then name, defaults evaluated at the
    /// call, extras in `varargs` and `kwargs`; the body renders into its own buffer.
    private func makeMacro(_ m: JinjaMacroDefinition, _ definingScope: JinjaScope) -> JinjaCallable {
        let link = MacroScope(definingScope)
        macroScopes.append(link)
        return JinjaCallable(m.name) { [unowned self] args, kwargs in
            guard let defining = link.scope else { throw JinjaFailure(.type, "macro '\(m.name)' was called after its template finished rendering") }
            self.callDepth += 1
            defer { self.callDepth -= 1 }
            guard self.callDepth <= self.limits.maxCallDepth else {
                throw JinjaFailure(.limit, "macro calls are nested more than \(self.limits.maxCallDepth) deep")
            }
            let scope = JinjaScope(parent: defining)
            var remaining = kwargs
            if let c = remaining.firstIndex(where: { $0.0 == "caller" }) { scope.variables["caller"] = remaining.remove(at: c).1 }
            if args.count > m.parameters.count && !m.takesVarargs {
                throw JinjaFailure(.type, "macro '\(m.name)' takes not more than \(m.parameters.count) argument(s)")
            }
            for (i, p) in m.parameters.enumerated() {
                if i < args.count {
                    scope.variables[p.name] = args[i]
                } else if let k = remaining.firstIndex(where: { $0.0 == p.name }) {
                    scope.variables[p.name] = remaining.remove(at: k).1
                } else if let d = p.defaultValue {
                    scope.variables[p.name] = try self.eval(d, scope)
                } else {
                    scope.variables[p.name] = .undefined(name: p.name, hint: "parameter '\(p.name)' was not provided")
                }
            }
            if let extra = remaining.first, !m.takesKwargs { throw JinjaFailure(.type, "macro '\(m.name)' takes no keyword argument '\(extra.0)'") }
            scope.variables["varargs"] = .tuple(Array(args.dropFirst(m.parameters.count)))
            scope.variables["kwargs"] = .dict(JinjaDict(remaining))
            return .string(try self.capture { _ = try self.run(m.body, scope) })
        }
    }

    /// A macro's defining scope, held through a box the render can empty: the scope holds the
    /// macro and the macro its scope, a cycle reference counting never frees.
    private final class MacroScope {
        var scope: JinjaScope?
        init(_ scope: JinjaScope) { self.scope = scope }
    }

    /// A namespace made by this render (a template can store a namespace in itself).
    func track(_ namespace: JinjaNamespace) -> JinjaNamespace {
        namespaces.append(namespace)
        return namespace
    }

    /// Breaks every cycle the render could have made (macros and their scopes, namespaces
    /// holding themselves), so that a template's objects are freed when its render returns.
    /// Found by fuzzing: each render of a template with a macro leaked its syntax tree.
    func releaseReferences() {
        for link in macroScopes { link.scope = nil }
        for namespace in namespaces { namespace.attributes = JinjaDict(); namespace.current = nil }
        macroScopes = []; namespaces = []
    }
}
