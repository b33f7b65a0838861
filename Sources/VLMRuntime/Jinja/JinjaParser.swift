/// Builds the statement tree from the lexer's pieces: `for`, `if`, `set`, `macro`, `filter`,
/// `break`/`continue`, and transformers' `{% generation %}` (whose body is rendered as is; the
/// block only marks assistant text for `return_assistant_tokens_mask`).
struct JinjaParser {
    private let pieces: [JinjaLexer.Piece]
    private var index = 0
    private let sourceMap: JinjaSourceMap
    private let sourceCount: Int
    /// Open blocks, innermost last (for "unexpected end" messages and nesting bounds).
    private var open: [String] = []
    static let maxNesting = 100

    static func parse(_ source: [Unicode.Scalar]) throws -> [JinjaNode] {
        var parser = JinjaParser(pieces: try JinjaLexer.lex(source), sourceMap: JinjaSourceMap(source), sourceCount: source.count)
        let (nodes, end) = try parser.parseBody(until: [])
        if let end { throw parser.syntax("Encountered unknown tag '\(end.name)'.", at: end.at) }
        return nodes
    }

    private init(pieces: [JinjaLexer.Piece], sourceMap: JinjaSourceMap, sourceCount: Int) {
        self.pieces = pieces; self.sourceMap = sourceMap; self.sourceCount = sourceCount
    }

    private func syntax(_ message: String, at offset: Int) -> JinjaError {
        let (line, column) = sourceMap.position(offset)
        return JinjaError(.syntax, message, line: line, column: column)
    }

    private func expressions(_ tokens: [JinjaToken], from start: Int, at: Int) -> JinjaExpressionParser {
        var p = JinjaExpressionParser(tokens: tokens, endOffset: tokens.last.map { $0.offset + 1 } ?? at, sourceMap: sourceMap)
        p.index = start
        return p
    }

    /// Nodes up to one of the `until` tags (returned with its tokens) or the end of the template.
    private mutating func parseBody(until: Set<String>) throws -> ([JinjaNode], (name: String, tokens: [JinjaToken], at: Int)?) {
        var nodes: [JinjaNode] = []
        while index < pieces.count {
            let piece = pieces[index]
            index += 1
            switch piece {
            case .text(let t): nodes.append(.text(t))
            case .output(let tokens, let at):
                var p = expressions(tokens, from: 0, at: at)
                let e = try p.parseTuple()
                guard p.atEnd else { throw p.error("expected token 'end of print statement'") }
                nodes.append(.output(e, at: at))
            case .statement(let tokens, let at):
                guard case .name(let keyword)? = tokens.first?.kind else { throw syntax("tag name expected", at: at) }
                if until.contains(keyword) { return (nodes, (keyword, tokens, at)) }
                nodes.append(try parseStatement(keyword, tokens, at: at))
            }
        }
        if let block = open.last {
            throw syntax("Unexpected end of template. Jinja was looking for the following tags: \(until.sorted().map { "'\($0)'" }.joined(separator: " or ")). The innermost block that needs to be closed is '\(block)'.", at: sourceCount)
        }
        return (nodes, nil)
    }

    /// The body of a block up to one of `ends`; a missing end tag is a syntax error.
    private mutating func block(_ name: String, until ends: Set<String>, at: Int) throws -> ([JinjaNode], (name: String, tokens: [JinjaToken], at: Int)) {
        open.append(name); defer { open.removeLast() }
        guard open.count <= Self.maxNesting else { throw syntax("blocks are nested too deeply", at: at) }
        let (body, end) = try parseBody(until: ends)
        guard let end else { throw syntax("Unexpected end of template: '\(name)' is not closed", at: at) }
        return (body, end)
    }

    private mutating func parseStatement(_ keyword: String, _ tokens: [JinjaToken], at: Int) throws -> JinjaNode {
        switch keyword {
        case "if": return try parseIf(tokens, at: at)
        case "for": return try parseFor(tokens, at: at)
        case "set": return try parseSet(tokens, at: at)
        case "macro": return try parseMacro(tokens, at: at)
        case "filter":
            var p = expressions(tokens, from: 1, at: at)
            let filters = try parseFilterChain(&p)
            let (body, _) = try block("filter", until: ["endfilter"], at: at)
            return .filterBlock(filters: filters, body: body, at: at)
        case "with":
            var p = expressions(tokens, from: 1, at: at)
            var assignments: [(name: String, value: JinjaExpr)] = []
            while !p.atEnd {
                if !assignments.isEmpty { try p.expectOp(",") }
                let name = try p.expectName()
                try p.expectOp("=")
                assignments.append((name, try p.parseExpression()))
            }
            let (body, _) = try block("with", until: ["endwith"], at: at)
            return .with(assignments, body: body)
        case "call":
            var p = expressions(tokens, from: 1, at: at)
            var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
            if p.isOp("(") { parameters = try parseParameters(&p) }
            let call = try p.parseExpression()
            guard case .call = call, p.atEnd else { throw p.error("expected a macro call") }
            let start = index
            let (body, _) = try block("call", until: ["endcall"], at: at)
            return .callBlock(call, caller: definition("caller", parameters, body, fromPiece: start), at: at)
        case "generation":
            let (body, _) = try block("generation", until: ["endgeneration"], at: at)
            return .ifBlock([(.literal(.bool(true)), body)], otherwise: [])
        case "break", "continue":
            guard tokens.count == 1 else { throw syntax("expected token 'end of statement block'", at: tokens[1].offset) }
            guard open.contains("for") else { throw syntax("Encountered unknown tag '\(keyword)'.", at: at) }
            return keyword == "break" ? .breakLoop(at: at) : .continueLoop(at: at)
        default:
            throw syntax("Encountered unknown tag '\(keyword)'.", at: at)
        }
    }

    private mutating func parseIf(_ tokens: [JinjaToken], at: Int) throws -> JinjaNode {
        var branches: [(condition: JinjaExpr, body: [JinjaNode])] = []
        var condTokens = tokens, condAt = at
        while true {
            var p = expressions(condTokens, from: 1, at: condAt)
            let condition = try p.parseTuple()
            guard p.atEnd else { throw p.error("expected token 'end of statement block'") }
            let (body, end) = try block("if", until: ["elif", "else", "endif"], at: at)
            branches.append((condition, body))
            switch end.name {
            case "elif": (condTokens, condAt) = (end.tokens, end.at)
            case "else":
                let (otherwise, _) = try block("if", until: ["endif"], at: at)
                return .ifBlock(branches, otherwise: otherwise)
            default: return .ifBlock(branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor(_ tokens: [JinjaToken], at: Int) throws -> JinjaNode {
        var p = expressions(tokens, from: 1, at: at)
        let target = try parseTarget(&p, allowAttribute: false)
        guard p.skipName("in") else { throw p.error("expected token 'in'") }
        let iterable = try p.parseTuple(withCondition: false, endNames: ["recursive", "if"])
        let condition = p.skipName("if") ? try p.parseExpression() : nil
        if p.isName("recursive") { throw p.error("recursive loops are not supported") }
        guard p.atEnd else { throw p.error("expected token 'end of statement block'") }
        let (body, end) = try block("for", until: ["else", "endfor"], at: at)
        var otherwise: [JinjaNode] = []
        if end.name == "else" { (otherwise, _) = try block("for", until: ["endfor"], at: at) }
        return .forBlock(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise, at: at)
    }

    private mutating func parseSet(_ tokens: [JinjaToken], at: Int) throws -> JinjaNode {
        var p = expressions(tokens, from: 1, at: at)
        let target = try parseTarget(&p, allowAttribute: true)
        if p.skipOp("=") {
            let value = try p.parseTuple()
            guard p.atEnd else { throw p.error("expected token 'end of statement block'") }
            return .set(target, value, at: at)
        }
        let filters = try parseFilterChain(&p, leadingBar: true)
        let (body, _) = try block("set", until: ["endset"], at: at)
        return .setBlock(target, body: body, filters: filters, at: at)
    }

    /// `| name(args) | name ...` up to the end of the tag.
    private func parseFilterChain(_ p: inout JinjaExpressionParser, leadingBar: Bool = false) throws -> [(name: String, arguments: JinjaArguments)] {
        var filters: [(name: String, arguments: JinjaArguments)] = []
        var needBar = leadingBar
        while !p.atEnd {
            if needBar { guard p.skipOp("|") else { throw p.error("expected token 'end of statement block'") } }
            let name = try p.expectName()
            filters.append((name, p.isOp("(") ? try p.parseCallArguments() : .none))
            needBar = true
        }
        return filters
    }

    /// `name`, `a, b`, `(a, b)`, and for `set` also `ns.attr`.
    private func parseTarget(_ p: inout JinjaExpressionParser, allowAttribute: Bool) throws -> JinjaTarget {
        func one(_ p: inout JinjaExpressionParser) throws -> JinjaTarget {
            if p.skipOp("(") {
                let t = try parseTarget(&p, allowAttribute: false)
                try p.expectOp(")")
                return t
            }
            let name = try p.expectName()
            if allowAttribute && p.skipOp(".") { return .attribute(name, try p.expectName()) }
            return .name(name)
        }
        var targets = [try one(&p)]
        while p.skipOp(",") { targets.append(try one(&p)) }
        return targets.count == 1 ? targets[0] : .tuple(targets)
    }

    private mutating func parseMacro(_ tokens: [JinjaToken], at: Int) throws -> JinjaNode {
        var p = expressions(tokens, from: 1, at: at)
        let name = try p.expectName()
        let parameters = try parseParameters(&p)
        guard p.atEnd else { throw p.error("expected token 'end of statement block'") }
        let start = index
        let (body, _) = try block("macro", until: ["endmacro"], at: at)
        return .macro(definition(name, parameters, body, fromPiece: start))
    }

    /// `(a, b=default, ...)`.
    private func parseParameters(_ p: inout JinjaExpressionParser) throws -> [(name: String, defaultValue: JinjaExpr?)] {
        try p.expectOp("(")
        var parameters: [(name: String, defaultValue: JinjaExpr?)] = []
        while !p.isOp(")") {
            if !parameters.isEmpty { try p.expectOp(",") }
            let parameter = try p.expectName()
            let value = p.skipOp("=") ? try p.parseExpression() : nil
            if value == nil, parameters.last?.defaultValue != nil { throw p.error("non-default argument follows default argument") }
            parameters.append((parameter, value))
        }
        try p.expectOp(")")
        return parameters
    }

    /// A macro whose body came from the pieces from `fromPiece` to here; whether it takes extra
    /// arguments is whether those pieces name `varargs` / `kwargs` (jinja2 decides the same way).
    private func definition(_ name: String, _ parameters: [(name: String, defaultValue: JinjaExpr?)], _ body: [JinjaNode],
                            fromPiece start: Int) -> JinjaMacroDefinition {
        var names = Set<String>()
        for piece in pieces[start..<index] {
            switch piece {
            case .output(let tokens, _), .statement(let tokens, _):
                for t in tokens { if case .name(let n) = t.kind { names.insert(n) } }
            case .text: break
            }
        }
        return JinjaMacroDefinition(name: name, parameters: parameters, body: body,
                                    takesVarargs: names.contains("varargs"), takesKwargs: names.contains("kwargs"))
    }
}
