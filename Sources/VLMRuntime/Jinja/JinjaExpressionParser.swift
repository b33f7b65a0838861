/// Parses the expressions inside one tag with jinja2's grammar and precedence:
///   conditional: or ['if' or ['else' conditional]]
///   or / and / not / comparison (==, !=, <, <=, >, >=, in, not in; chained)
///   + -  then  ~  then  * / // %  then  ** (left-associative in Jinja)  then unary - +
///   primary with postfix (.attr, [subscript or slice], (call)) then filters `|` and tests `is`
struct JinjaExpressionParser {
    let tokens: [JinjaToken]
    var index = 0
    /// Where the tag ends, for "unexpected end" errors.
    let endOffset: Int
    let sourceMap: JinjaSourceMap
    /// How deep the tree being built is along the current path (nested brackets and operators,
    /// and every link of an operator chain, which nests its left side): evaluation recurses that
    /// deep, so a hostile template must not be able to make it overflow the stack.
    var depth = 0
    static let maxDepth = 256

    /// One more level; `count` says how many the caller must give back.
    mutating func deeper(_ count: inout Int) throws {
        depth += 1; count += 1
        guard depth < Self.maxDepth else { throw error("the expression is nested too deeply") }
    }

    init(tokens: [JinjaToken], endOffset: Int, sourceMap: JinjaSourceMap) {
        self.tokens = tokens; self.endOffset = endOffset; self.sourceMap = sourceMap
    }

    var atEnd: Bool { index >= tokens.count }
    var current: JinjaToken? { atEnd ? nil : tokens[index] }
    var offset: Int { current?.offset ?? endOffset }

    func isOp(_ op: String) -> Bool { if case .op(op)? = current?.kind { return true }; return false }
    func isName(_ name: String) -> Bool { if case .name(name)? = current?.kind { return true }; return false }

    mutating func skipOp(_ op: String) -> Bool { if isOp(op) { index += 1; return true }; return false }
    mutating func skipName(_ name: String) -> Bool { if isName(name) { index += 1; return true }; return false }

    mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw error(atEnd ? "unexpected end of tag, expected '\(op)'" : "expected '\(op)'") }
    }

    mutating func expectName() throws -> String {
        guard case .name(let n)? = current?.kind else { throw error("expected a name") }
        index += 1
        return n
    }

    func error(_ message: String, at: Int? = nil) -> JinjaError {
        let (line, column) = sourceMap.position(at ?? offset)
        return JinjaError(.syntax, message, line: line, column: column)
    }

    // MARK: expressions

    /// An expression or a bare tuple (`{{ a, b }}`, `set a, b = 1, 2`).
    mutating func parseTuple(withCondition: Bool = true, endNames: Set<String> = []) throws -> JinjaExpr {
        var items: [JinjaExpr] = []
        var sawComma = false
        while true {
            if !items.isEmpty {
                guard skipOp(",") else { break }
                sawComma = true
            }
            if atEnd || isOp(")") || isOp("]") || isOp("}") || isOp("=") { break }
            if case .name(let n)? = current?.kind, endNames.contains(n) { break }
            items.append(withCondition ? try parseExpression() : try parseOr())
        }
        if items.isEmpty { throw error(atEnd ? "unexpected end of tag, expected an expression" : "expected an expression") }
        return items.count == 1 && !sawComma ? items[0] : .tuple(items)
    }

    mutating func parseExpression() throws -> JinjaExpr {
        depth += 1; defer { depth -= 1 }
        guard depth < Self.maxDepth else { throw error("the expression is nested too deeply") }
        let value = try parseOr()
        guard skipName("if") else { return value }
        let condition = try parseOr()
        let otherwise = skipName("else") ? try parseExpression() : nil
        return .conditional(value, condition: condition, otherwise: otherwise)
    }

    mutating func parseOr() throws -> JinjaExpr {
        var left = try parseAnd(), links = 0
        defer { depth -= links }
        while skipName("or") { try deeper(&links); left = .or(left, try parseAnd()) }
        return left
    }

    mutating func parseAnd() throws -> JinjaExpr {
        var left = try parseNot(), links = 0
        defer { depth -= links }
        while skipName("and") { try deeper(&links); left = .and(left, try parseNot()) }
        return left
    }

    mutating func parseNot() throws -> JinjaExpr {
        let at = offset
        if skipName("not") {
            depth += 1; defer { depth -= 1 }
            guard depth < Self.maxDepth else { throw error("the expression is nested too deeply") }
            return .unary("not", try parseNot(), at: at)
        }
        return try parseCompare()
    }

    mutating func parseCompare() throws -> JinjaExpr {
        let at = offset
        let first = try parseMath1()
        var rest: [(op: String, JinjaExpr)] = [], links = 0
        defer { depth -= links }
        while true {
            try deeper(&links)
            if case .op(let o)? = current?.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                index += 1
                rest.append((o, try parseMath1()))
            } else if skipName("in") {
                rest.append(("in", try parseMath1()))
            } else if isName("not"), index + 1 < tokens.count, case .name("in") = tokens[index + 1].kind {
                index += 2
                rest.append(("not in", try parseMath1()))
            } else {
                break
            }
        }
        return rest.isEmpty ? first : .compare(first, rest, at: at)
    }

    mutating func parseMath1() throws -> JinjaExpr { try parseChain(["+", "-"]) { try $0.parseConcat() } }
    mutating func parseConcat() throws -> JinjaExpr { try parseChain(["~"]) { try $0.parseMath2() } }
    mutating func parseMath2() throws -> JinjaExpr { try parseChain(["*", "/", "//", "%"]) { try $0.parsePow() } }
    mutating func parsePow() throws -> JinjaExpr { try parseChain(["**"]) { try $0.parseUnary() } }

    /// `operand (op operand)*` for one precedence level, left-associative; each link nests the
    /// tree one deeper, so it counts toward `depth`.
    private mutating func parseChain(_ operators: [String], _ operand: (inout JinjaExpressionParser) throws -> JinjaExpr) throws -> JinjaExpr {
        var left = try operand(&self), links = 0
        defer { depth -= links }
        while let o = operators.first(where: { isOp($0) }) {
            let at = offset
            try deeper(&links)
            index += 1
            left = .binary(o, left, try operand(&self), at: at)
        }
        return left
    }

    /// Unary minus binds to the primary and its postfix; filters then apply to the negation
    /// (`-1 | abs` is 1), as in jinja2.
    mutating func parseUnary(withFilter: Bool = true) throws -> JinjaExpr {
        let at = offset
        var node: JinjaExpr
        if isOp("-") || isOp("+") {
            let op = isOp("-") ? "-" : "+"
            index += 1
            depth += 1; defer { depth -= 1 }
            guard depth < Self.maxDepth else { throw error("the expression is nested too deeply") }
            node = .unary(op, try parseUnary(withFilter: false), at: at)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        return withFilter ? try parseFilters(node) : node
    }
}
