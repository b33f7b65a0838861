/// Evaluating expressions: names, literals, attribute and item access with jinja2's rules
/// (`a.b` tries the attribute then the item, `a['b']` the item then the attribute), calls,
/// filters, tests and the operators.
extension JinjaInterpreter {
    func eval(_ e: JinjaExpr, _ scope: JinjaScope) throws -> JinjaValue {
        switch e {
        case .literal(let v): return v
        case .name(let n, _): return scope.lookup(n) ?? JinjaGlobals.value(named: n, self) ?? .undefined(n)
        case .list(let items): return try checkedNesting(.list(try items.map { try eval($0, scope) }))
        case .tuple(let items): return try checkedNesting(.tuple(try items.map { try eval($0, scope) }))
        case .dict(let pairs):
            var d = JinjaDict()
            for p in pairs {
                let k = try eval(p.key, scope)
                guard case .string(let key) = k else { throw positioned(JinjaFailure(.type, "dict keys must be strings here, not \(k.typeName)")) }
                d[key] = try eval(p.value, scope)
            }
            return try checkedNesting(.dict(d))
        case .attribute(let base, let name, let at):
            let b = try eval(base, scope)
            offset = at
            return try guarded { try JinjaMembers.attribute(b, name) }
        case .item(let base, let key, let at):
            let b = try eval(base, scope), k = try eval(key, scope)
            offset = at
            return try guarded { try JinjaMembers.item(b, k) }
        case .slice(let base, let start, let stop, let step, let at):
            let b = try eval(base, scope)
            let bounds = try [start, stop, step].map { try $0.map { try eval($0, scope) } }
            offset = at
            return try guarded { try JinjaMembers.slice(b, bounds[0], bounds[1], bounds[2]) }
        case .call(let callee, let arguments, let at):
            let f = try eval(callee, scope)
            let (args, kwargs) = try evalArguments(arguments, scope)
            offset = at
            return try checkedNesting(try guarded { try call(f, args, kwargs) })
        case .filter(let base, let name, let arguments, let at):
            let b = try eval(base, scope)
            offset = at
            return try applyFilter(name, to: b, arguments, scope)
        case .test(let base, let name, let arguments, let negated, let at):
            let b = try eval(base, scope)
            let (args, _) = try evalArguments(arguments, scope)
            offset = at
            let result = try guarded { try JinjaTestFunctions.run(name, b, args, self) }
            return .bool(result != negated)
        case .unary(let op, let operand, let at):
            let v = try eval(operand, scope)
            offset = at
            return try guarded { try JinjaOperators.unary(op, v) }
        case .binary(let op, let l, let r, let at):
            let a = try eval(l, scope), b = try eval(r, scope)
            offset = at
            return try guarded { try JinjaOperators.binary(op, a, b, limit: limits.maxOutputBytes) }
        case .compare(let first, let rest, let at):
            var left = try eval(first, scope)
            for (op, expr) in rest {
                let right = try eval(expr, scope)
                offset = at
                guard try guarded({ try JinjaOperators.compare(op, left, right) }) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .and(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? try eval(r, scope) : a
        case .or(let l, let r):
            let a = try eval(l, scope)
            return a.truthy ? a : try eval(r, scope)
        case .conditional(let value, let condition, let otherwise):
            if try eval(condition, scope).truthy { return try eval(value, scope) }
            return try otherwise.map { try eval($0, scope) } ?? .undefined(name: "", hint: "the inline if-expression evaluated to false and no else section was defined.")
        }
    }

    /// Runs a builtin, turning its failure into an error at the current position.
    func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let f as JinjaFailure { throw positioned(f) }
    }

    func evalArguments(_ a: JinjaArguments, _ scope: JinjaScope) throws -> ([JinjaValue], [(String, JinjaValue)]) {
        var args = try a.positional.map { try eval($0, scope) }
        var kwargs = try a.keyword.map { ($0.name, try eval($0.value, scope)) }
        if let star = a.star { args += try iterate(try eval(star, scope)) }
        if let more = a.doubleStar {
            guard case .dict(let d) = try eval(more, scope) else { throw positioned(JinjaFailure(.type, "argument after ** must be a mapping")) }
            kwargs += d.pairs.map { ($0.key, $0.value) }
        }
        return (args, kwargs)
    }

    func call(_ f: JinjaValue, _ args: [JinjaValue], _ kwargs: [(String, JinjaValue)]) throws -> JinjaValue {
        switch f {
        case .callable(let c): return try c.call(args, kwargs)
        case .undefined: throw JinjaMembers.undefinedError(f)
        default: throw JinjaFailure(.type, "'\(f.typeName)' object is not callable")
        }
    }

    func applyFilter(_ name: String, to value: JinjaValue, _ arguments: JinjaArguments, _ scope: JinjaScope) throws -> JinjaValue {
        let at = offset
        let (args, kwargs) = try evalArguments(arguments, scope)
        offset = at
        return try checkedNesting(try guarded { try JinjaFilters.run(name, value, JinjaArgs(args, kwargs), self) })
    }
}
