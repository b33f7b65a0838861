/// Splits a template into text, `{{ expression }}` and `{% statement %}` pieces, applying the
/// whitespace rules of transformers' environment exactly as jinja2's lexer does:
/// - `{%-`, `{{-`, `{#-` strip all whitespace before the tag; `-%}`, `-}}`, `-#}` all after it;
/// - trim_blocks: the first newline after a `%}` or `#}` goes (`+%}` keeps it);
/// - lstrip_blocks: spaces and tabs from the start of a line up to a `{%` or `{#` go (`{%+`
///   keeps them), where "start of a line" includes the text right after a tag that ended on a
///   newline;
/// - comments vanish; `{% raw %}...{% endraw %}` is text.
/// Inside tags it makes the expression tokens; a `}}` or `%}` closes the tag only when the
/// brackets opened inside it are closed (so `{{ {'a': {'b': 1}} }}` works, as in jinja2).
struct JinjaLexer {
    enum Piece {
        case text(String)
        case output([JinjaToken], at: Int)
        case statement([JinjaToken], at: Int)
    }

    let source: [Unicode.Scalar]
    private var i = 0
    private var lineStarting = true
    private var pieces: [Piece] = []

    init(_ source: [Unicode.Scalar]) { self.source = source }

    static func lex(_ source: [Unicode.Scalar]) throws -> [Piece] {
        var lexer = JinjaLexer(source)
        try lexer.run()
        return lexer.pieces
    }

    private mutating func run() throws {
        while i < source.count {
            guard let (start, kind) = nextTagStart(from: i) else {
                emitText(i, source.count)
                break
            }
            let modifier = start + 2 < source.count ? source[start + 2] : " "
            var textEnd = start
            if modifier == "-" {
                while textEnd > i && pythonIsSpace(source[textEnd - 1]) { textEnd -= 1 }
            } else if modifier != "+" && kind != "{" {
                textEnd = leftStripped(from: i, to: start)
            }
            emitText(i, textEnd)
            var p = start + 2 + (modifier == "-" || modifier == "+" ? 1 : 0)
            switch kind {
            case "#": p = try skipComment(from: p, tagStart: start)
            case "{":
                let (tokens, end) = try tokens(from: p, closing: "}", tagStart: start)
                pieces.append(.output(tokens, at: start))
                p = end
            default:
                let (tokens, end) = try tokens(from: p, closing: "%", tagStart: start)
                if tokens.count == 1, case .name("raw") = tokens[0].kind {
                    p = try rawBlock(from: end, tagStart: start)
                } else {
                    pieces.append(.statement(tokens, at: start))
                    p = end
                }
            }
            lineStarting = p > 0 && source[p - 1] == "\n"
            i = p
        }
    }

    /// The next `{{`, `{%` or `{#` at or after `from`, and which one (its second character).
    private func nextTagStart(from: Int) -> (Int, Unicode.Scalar)? {
        var j = from
        while j + 1 < source.count {
            if source[j] == "{" {
                let c = source[j + 1]
                if c == "{" || c == "%" || c == "#" { return (j, c) }
            }
            j += 1
        }
        return nil
    }

    /// lstrip_blocks: the end of the text once the spaces and tabs that start its last line are
    /// dropped (only when that line holds nothing else and really starts a line).
    private func leftStripped(from: Int, to: Int) -> Int {
        var lineStart = to
        while lineStart > from && source[lineStart - 1] != "\n" { lineStart -= 1 }
        guard lineStart > from || lineStarting else { return to }
        for k in lineStart..<to where source[k] != " " && source[k] != "\t" { return to }
        return lineStart
    }

    private mutating func emitText(_ a: Int, _ b: Int) {
        guard b > a else { return }
        var s = String.UnicodeScalarView()
        s.append(contentsOf: source[a..<b])
        pieces.append(.text(String(s)))
    }

    /// Past the end of a comment: `#}` (with trim_blocks' newline) or `-#}` and the whitespace after.
    private func skipComment(from: Int, tagStart: Int) throws -> Int {
        var j = from
        while j + 1 < source.count {
            if source[j] == "#" && source[j + 1] == "}" {
                if j > from && source[j - 1] == "-" { return skipSpace(from: j + 2) }
                return skipNewline(from: j + 2)
            }
            j += 1
        }
        throw syntax("Missing end of comment tag", at: tagStart)
    }

    private func skipSpace(from: Int) -> Int {
        var j = from
        while j < source.count && pythonIsSpace(source[j]) { j += 1 }
        return j
    }

    private func skipNewline(from: Int) -> Int { from < source.count && source[from] == "\n" ? from + 1 : from }

    /// The text up to `{% endraw %}`, and the offset after that tag.
    private mutating func rawBlock(from: Int, tagStart: Int) throws -> Int {
        var j = from
        while let (start, kind) = nextTagStart(from: j) {
            j = start + 1
            guard kind == "%" else { continue }
            var k = start + 2
            let modifier = k < source.count ? source[k] : " "
            if modifier == "-" || modifier == "+" { k += 1 }
            k = skipSpace(from: k)
            guard matches("endraw", at: k) else { continue }
            k = skipSpace(from: k + 6)
            var textEnd = start
            if modifier == "-" { while textEnd > from && pythonIsSpace(source[textEnd - 1]) { textEnd -= 1 } }
            if matches("+%}", at: k) { emitText(from, textEnd); return k + 3 }
            if matches("-%}", at: k) { emitText(from, textEnd); return skipSpace(from: k + 3) }
            if matches("%}", at: k) { emitText(from, textEnd); return skipNewline(from: k + 2) }
        }
        throw syntax("Missing end of raw directive", at: tagStart)
    }

    private func matches(_ word: String, at k: Int) -> Bool {
        var j = k
        for u in word.unicodeScalars {
            guard j < source.count, source[j] == u else { return false }
            j += 1
        }
        return true
    }

    /// The tokens of one tag's body and the offset after the tag's end (whitespace control applied).
    private func tokens(from start: Int, closing: Unicode.Scalar, tagStart: Int) throws -> ([JinjaToken], Int) {
        var tokenizer = JinjaTokenizer(source: source, position: start)
        var out: [JinjaToken] = []
        var open: [Unicode.Scalar] = []
        while true {
            tokenizer.skipWhitespace()
            let p = tokenizer.position
            guard p < source.count else {
                throw syntax(closing == "}" ? "unexpected end of template, expected 'end of print statement'"
                                            : "unexpected end of template, expected 'end of statement block'", at: tagStart)
            }
            if open.isEmpty {
                if matches("-" + String(closing) + "}", at: p) { return (out, skipSpace(from: p + 3)) }
                if closing == "%" && matches("+%}", at: p) { return (out, p + 3) }
                if matches(String(closing) + "}", at: p) { return (out, closing == "%" ? skipNewline(from: p + 2) : p + 2) }
            }
            let token = try tokenizer.next()
            if case .op(let o) = token.kind {
                switch o {
                case "(", "[", "{": open.append(o.unicodeScalars.first!)
                case ")", "]", "}":
                    let expected: Unicode.Scalar = o == ")" ? "(" : o == "]" ? "[" : "{"
                    guard open.last == expected else {
                        throw syntax(open.isEmpty ? "unexpected '\(o)'" : "unexpected '\(o)', expected '\(Self.closer(open.last!))'", at: token.offset)
                    }
                    open.removeLast()
                default: break
                }
            }
            out.append(token)
        }
    }

    private static func closer(_ o: Unicode.Scalar) -> String { o == "(" ? ")" : o == "[" ? "]" : "}" }

    private func syntax(_ message: String, at offset: Int) -> JinjaError {
        let (line, column) = JinjaSourceMap(source).position(offset)
        return JinjaError(.syntax, message, line: line, column: column)
    }
}
