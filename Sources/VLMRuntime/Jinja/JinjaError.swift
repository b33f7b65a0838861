/// A template that cannot be parsed, raises (`raise_exception`), or does something Jinja refuses
/// (an undefined attribute, an unsafe method, a limit crossed). `line` and `column` are 1-based
/// positions in the template text.
public struct JinjaError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// The template is not valid Jinja (jinja2's TemplateSyntaxError).
        case syntax
        /// `raise_exception(message)` was called (transformers' TemplateError).
        case raised
        /// An undefined value was used for more than printing (jinja2's UndefinedError).
        case undefined
        /// A type or value that an operation does not take (Python's TypeError / ValueError).
        case type
        /// The sandbox refused an attribute or method (jinja2's SecurityError).
        case security
        /// Output, nesting or iterations beyond the renderer's bounds.
        case limit
    }
    public var kind: Kind
    public var message: String
    public var line: Int
    public var column: Int

    public init(_ kind: Kind, _ message: String, line: Int = 0, column: Int = 0) {
        self.kind = kind; self.message = message; self.line = line; self.column = column
    }

    public var description: String {
        let place = line > 0 ? "line \(line), column \(column): " : ""
        switch kind {
        case .raised: return "chat template raised an error at \(place)\(message)"
        case .syntax: return "chat template syntax error at \(place)\(message)"
        default: return "chat template error at \(place)\(message)"
        }
    }
}

/// An error raised before the position is known (inside a filter or method); the interpreter
/// adds the position of the expression being evaluated.
struct JinjaFailure: Error {
    let kind: JinjaError.Kind
    let message: String
    init(_ kind: JinjaError.Kind, _ message: String) { self.kind = kind; self.message = message }
}

/// Maps scalar offsets in the template to 1-based line and column.
struct JinjaSourceMap {
    private let lineStarts: [Int]
    init(_ scalars: [Unicode.Scalar]) {
        var starts = [0]
        for (i, u) in scalars.enumerated() where u == "\n" { starts.append(i + 1) }
        lineStarts = starts
    }
    func position(_ offset: Int) -> (line: Int, column: Int) {
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return (lo + 1, offset - lineStarts[lo] + 1)
    }
}
