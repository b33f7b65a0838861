/// One token inside a tag. `offset` is its scalar offset in the template (for error positions).
struct JinjaToken {
    enum Kind: Equatable {
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        case op(String)
    }
    let kind: Kind
    let offset: Int
}

/// Reads the tokens of Jinja expressions: names, string literals with Python's escapes,
/// integers and floats (with `_` separators), and the operators jinja2 knows.
struct JinjaTokenizer {
    let source: [Unicode.Scalar]
    var position: Int

    /// Longest first, so `//` is not read as two `/`.
    private static let operators = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~",
                                    "[", "]", "(", ")", "{", "}", ",", ".", ":", "|", "=", "<", ">", ";"]

    mutating func skipWhitespace() {
        while position < source.count && pythonIsSpace(source[position]) { position += 1 }
    }

    mutating func next() throws -> JinjaToken {
        let start = position
        let c = source[position]
        if c == "_" || c.properties.isAlphabetic {
            while position < source.count && (source[position] == "_" || source[position].properties.isAlphabetic
                                              || source[position].properties.numericType == .decimal) { position += 1 }
            return JinjaToken(kind: .name(text(start, position)), offset: start)
        }
        if c == "'" || c == "\"" { return JinjaToken(kind: .string(try stringLiteral(quote: c)), offset: start) }
        if isDigit(c) { return try number() }
        for op in Self.operators where matches(op) {
            position += op.unicodeScalars.count
            return JinjaToken(kind: .op(op), offset: start)
        }
        throw failure("unexpected char '\(Character(c))'", at: start)
    }

    private func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    private func matches(_ op: String) -> Bool {
        var j = position
        for u in op.unicodeScalars {
            guard j < source.count, source[j] == u else { return false }
            j += 1
        }
        return true
    }

    private func text(_ a: Int, _ b: Int) -> String {
        var s = String.UnicodeScalarView()
        s.append(contentsOf: source[a..<b])
        return String(s)
    }

    /// Digits with optional `_` separators, a fraction and an exponent (jinja2's integer_re and
    /// float_re; a fraction needs digits after the point, so `1.x` is 1, `.`, x).
    private mutating func number() throws -> JinjaToken {
        let start = position
        func digits() { while position < source.count && (isDigit(source[position]) || source[position] == "_" && position + 1 < source.count && isDigit(source[position + 1])) { position += 1 } }
        digits()
        var isFloat = false
        if position + 1 < source.count && source[position] == "." && isDigit(source[position + 1]) {
            position += 1; digits(); isFloat = true
        }
        if position < source.count && (source[position] == "e" || source[position] == "E") {
            var k = position + 1
            if k < source.count && (source[k] == "+" || source[k] == "-") { k += 1 }
            if k < source.count && isDigit(source[k]) { position = k; digits(); isFloat = true }
        }
        let literal = text(start, position).replacingOccurrences(of: "_", with: "")
        if isFloat {
            guard let d = Double(literal) else { throw failure("invalid float literal", at: start) }
            return JinjaToken(kind: .float(d), offset: start)
        }
        guard let n = Int(literal) else { throw failure("integer literal too large", at: start) }
        return JinjaToken(kind: .int(n), offset: start)
    }

    /// A quoted string, decoded as jinja2 does (Python's unicode-escape over the raw text):
    /// \n \t \r \\ \' \" \a \b \f \v \0-7 octal, \xhh, \uhhhh, \Uhhhhhhhh; a backslash before
    /// anything else stays.
    private mutating func stringLiteral(quote: Unicode.Scalar) throws -> String {
        let start = position
        position += 1
        var out = String.UnicodeScalarView()
        while position < source.count {
            let c = source[position]
            if c == quote { position += 1; return String(out) }
            if c == "\\" && position + 1 < source.count {
                position += 1
                try appendEscape(into: &out, start: start)
                continue
            }
            out.append(c)
            position += 1
        }
        throw failure("unexpected end of string literal", at: start)
    }

    private mutating func appendEscape(into out: inout String.UnicodeScalarView, start: Int) throws {
        let e = source[position]
        position += 1
        switch e {
        case "n": out.append("\n")
        case "t": out.append("\t")
        case "r": out.append("\r")
        case "\\": out.append("\\")
        case "'": out.append("'")
        case "\"": out.append("\"")
        case "a": out.append("\u{07}")
        case "b": out.append("\u{08}")
        case "f": out.append("\u{0C}")
        case "v": out.append("\u{0B}")
        case "\n": break   // a backslash-newline continues the line
        case "x", "u", "U":
            let width = e == "x" ? 2 : e == "u" ? 4 : 8
            guard position + width <= source.count,
                  let v = UInt32(text(position, position + width), radix: 16), let u = Unicode.Scalar(v) else {
                throw failure("truncated \\\(Character(e)) escape in a string literal", at: start)
            }
            out.append(u)
            position += width
        case "0"..."7":
            var v = e.value - 48, n = 1
            while n < 3 && position < source.count && source[position] >= "0" && source[position] <= "7" {
                v = v * 8 + source[position].value - 48; position += 1; n += 1
            }
            out.append(Unicode.Scalar(v) ?? "\u{FFFD}")
        default:
            out.append("\\"); out.append(e)
        }
    }

    private func failure(_ message: String, at offset: Int) -> JinjaError {
        let (line, column) = JinjaSourceMap(source).position(offset)
        return JinjaError(.syntax, message, line: line, column: column)
    }
}
