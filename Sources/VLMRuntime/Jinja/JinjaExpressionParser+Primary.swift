/// Primaries (names, literals, brackets) and what follows them: attributes, subscripts,
/// slices, calls, filters and tests.
extension JinjaExpressionParser {
    mutating func parsePrimary() throws -> JinjaExpr {
        guard let token = current else { throw error("unexpected end of tag, expected an expression") }
        let at = token.offset
        switch token.kind {
        case .name(let n):
            index += 1
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, at: at)
            }
        case .string(var s):
            index += 1
            // Adjacent string literals are one string, as in Python.
            while case .string(let more)? = current?.kind { s += more; index += 1 }
            return .literal(.string(s))
        case .int(let i):
            index += 1
            return .literal(.int(i))
        case .float(let d):
            index += 1
            return .literal(.float(d))
        case .op("("):
            index += 1
            if skipOp(")") { return .tuple([]) }
            let inner = try parseTuple()
            try expectOp(")")
            return inner
        case .op("["):
            index += 1
            var items: [JinjaExpr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(","); if isOp("]") { break } }
                items.append(try parseExpression())
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            index += 1
            var pairs: [(key: JinjaExpr, value: JinjaExpr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(","); if isOp("}") { break } }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            try expectOp("}")
            return .dict(pairs)
        case .op(let o):
            throw error("unexpected '\(o)'")
        }
    }

    mutating func parsePostfix(_ base: JinjaExpr) throws -> JinjaExpr {
        var node = base, links = 0
        defer { depth -= links }
        while true {
            let at = offset
            if isOp(".") || isOp("[") || isOp("(") { try deeper(&links) }
            if skipOp(".") {
                guard let token = current else { throw error("expected an attribute name") }
                index += 1
                switch token.kind {
                case .name(let n): node = .attribute(node, n, at: at)
                case .int(let i): node = .item(node, .literal(.int(i)), at: at)
                default: throw error("expected an attribute name", at: token.offset)
                }
            } else if skipOp("[") {
                node = try parseSubscript(node, at: at)
            } else if isOp("(") {
                node = .call(node, try parseCallArguments(), at: at)
            } else {
                return node
            }
        }
    }

    /// `[i]`, `[a:b]`, `[a:b:c]` with any part left out.
    private mutating func parseSubscript(_ base: JinjaExpr, at: Int) throws -> JinjaExpr {
        var parts: [JinjaExpr?] = [nil]
        var colons = 0
        while !isOp("]") {
            if skipOp(":") {
                colons += 1
                guard colons <= 2 else { throw error("too many ':' in a slice") }
                parts.append(nil)
                continue
            }
            guard parts[parts.count - 1] == nil else { throw error("expected ']'") }
            parts[parts.count - 1] = try parseExpression()
        }
        try expectOp("]")
        if colons == 0 {
            guard let key = parts[0] else { throw error("expected a subscript", at: at) }
            return .item(base, key, at: at)
        }
        return .slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil,
                      step: parts.count > 2 ? parts[2] : nil, at: at)
    }

    /// `(a, b, name=c, *rest, **more)`.
    mutating func parseCallArguments() throws -> JinjaArguments {
        try expectOp("(")
        var arguments = JinjaArguments()
        var first = true
        while !isOp(")") {
            if !first { try expectOp(","); if isOp(")") { break } }
            first = false
            if skipOp("*") { arguments.star = try parseExpression(); continue }
            if skipOp("**") { arguments.doubleStar = try parseExpression(); continue }
            if case .name(let n)? = current?.kind, index + 1 < tokens.count, case .op("=") = tokens[index + 1].kind {
                index += 2
                arguments.keyword.append((n, try parseExpression()))
                continue
            }
            guard arguments.keyword.isEmpty else { throw error("a positional argument follows keyword arguments") }
            arguments.positional.append(try parseExpression())
        }
        try expectOp(")")
        return arguments
    }

    /// A dotted filter or test name.
    private mutating func parseDottedName() throws -> String {
        var name = try expectName()
        while isOp("."), index + 1 < tokens.count, case .name(let more) = tokens[index + 1].kind {
            index += 2
            name += "." + more
        }
        return name
    }

    mutating func parseFilters(_ base: JinjaExpr) throws -> JinjaExpr {
        var node = base, links = 0
        defer { depth -= links }
        while true {
            let at = offset
            if isOp("|") || isName("is") || isOp("(") { try deeper(&links) }
            if skipOp("|") {
                let name = try parseDottedName()
                let arguments = isOp("(") ? try parseCallArguments() : .none
                node = .filter(node, name, arguments, at: at)
            } else if skipName("is") {
                node = try parseTest(node, at: at)
            } else if isOp("(") {
                node = .call(node, try parseCallArguments(), at: at)
            } else {
                return node
            }
        }
    }

    /// `is [not] name`, with `(args)` or one bare argument (`is divisibleby 3`, `is sameas none`).
    private mutating func parseTest(_ base: JinjaExpr, at: Int) throws -> JinjaExpr {
        let negated = skipName("not")
        let name = try parseDottedName()
        var arguments = JinjaArguments()
        if isOp("(") {
            arguments = try parseCallArguments()
        } else if let token = current {
            var takesArgument: Bool
            switch token.kind {
            case .name(let n): takesArgument = !["else", "or", "and"].contains(n)
                if n == "is" { throw error("You cannot chain multiple tests with is") }
            case .string, .int, .float: takesArgument = true
            case .op(let o): takesArgument = o == "[" || o == "{"
            }
            if takesArgument { arguments.positional = [try parsePostfix(try parsePrimary())] }
        }
        return .test(base, name, arguments, negated: negated, at: at)
    }
}
