/// Python's `str` methods on code points (Python indexes and splits strings by code point, not
/// by grapheme, so these work on unicode scalars).
enum JinjaText {
    typealias Scalars = [Unicode.Scalar]

    static func string(_ s: some Sequence<Unicode.Scalar>) -> String {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: s)
        return String(v)
    }

    /// `strip(chars)`: whitespace as `str.isspace` sees it when `chars` is nil.
    static func strip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func drop(_ u: Unicode.Scalar) -> Bool { set.map { $0.contains(u) } ?? pythonIsSpace(u) }
        let a = Array(s.unicodeScalars)
        var i = 0, j = a.count
        if left { while i < j && drop(a[i]) { i += 1 } }
        if right { while j > i && drop(a[j - 1]) { j -= 1 } }
        return string(a[i..<j])
    }

    /// `split(sep, maxsplit)` and `rsplit`: without `sep`, runs of whitespace separate and the
    /// ends are trimmed; with one, every occurrence separates.
    static func split(_ s: String, separator: String?, maxSplit: Int, fromRight: Bool) throws -> [String] {
        let a = Array(s.unicodeScalars)
        guard let separator else {
            // Python keeps the unsplit remainder as it is (with its trailing, or for rsplit its
            // leading, whitespace).
            let items = fromRight ? Array(a.reversed()) : a
            var words: [Scalars] = []
            var i = 0
            while i < items.count {
                while i < items.count && pythonIsSpace(items[i]) { i += 1 }
                guard i < items.count else { break }
                if maxSplit >= 0 && words.count == maxSplit { words.append(Array(items[i...])); break }
                var j = i
                while j < items.count && !pythonIsSpace(items[j]) { j += 1 }
                words.append(Array(items[i..<j]))
                i = j
            }
            return fromRight ? words.reversed().map { string($0.reversed()) } : words.map { string($0) }
        }
        let sep = Array(separator.unicodeScalars)
        guard !sep.isEmpty else { throw JinjaFailure(.type, "empty separator") }
        var pieces: [String] = []
        var positions: [Int] = []
        var i = 0
        while i + sep.count <= a.count {
            if Array(a[i..<(i + sep.count)]) == sep { positions.append(i); i += sep.count } else { i += 1 }
        }
        if maxSplit >= 0 && positions.count > maxSplit {
            positions = fromRight ? Array(positions.suffix(maxSplit)) : Array(positions.prefix(maxSplit))
        }
        var start = 0
        for p in positions { pieces.append(string(a[start..<p])); start = p + sep.count }
        pieces.append(string(a[start...]))
        return pieces
    }

    static func splitLines(_ s: String, keepEnds: Bool) -> [String] {
        let breaks: Set<UInt32> = [0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029]
        let a = Array(s.unicodeScalars)
        var lines: [String] = []
        var start = 0, i = 0
        while i < a.count {
            if breaks.contains(a[i].value) {
                var end = i + 1
                if a[i] == "\r" && end < a.count && a[end] == "\n" { end += 1 }
                lines.append(string(a[start..<(keepEnds ? end : i)]))
                start = end; i = end
            } else { i += 1 }
        }
        if start < a.count { lines.append(string(a[start...])) }
        return lines
    }

    /// `str.title()`: a letter after a non-letter goes upper case, other letters lower case.
    static func pythonTitle(_ s: String) -> String {
        var out = "", previousCased = false
        for c in s {
            out += previousCased ? c.lowercased() : c.uppercased()
            previousCased = c.isCased
        }
        return out
    }

    /// `str.capitalize()`: the first character upper case, the rest lower case.
    static func capitalize(_ s: String) -> String {
        guard let f = s.first else { return s }
        return f.uppercased() + s.dropFirst().lowercased()
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        guard count != 0 else { return s }
        if old.isEmpty {
            // Python inserts `new` before every character and at the end.
            var out = String.UnicodeScalarView(), n = 0
            for u in s.unicodeScalars {
                if count < 0 || n < count { out.append(contentsOf: new.unicodeScalars); n += 1 }
                out.append(u)
            }
            if count < 0 || n < count { out.append(contentsOf: new.unicodeScalars) }
            return String(out)
        }
        let pieces = (try? split(s, separator: old, maxSplit: count < 0 ? -1 : count, fromRight: false)) ?? [s]
        return pieces.joined(separator: new)
    }

    static func count(_ s: String, _ sub: String) -> Int {
        if sub.isEmpty { return s.unicodeScalars.count + 1 }
        return ((try? split(s, separator: sub, maxSplit: -1, fromRight: false)) ?? [s]).count - 1
    }

    /// The code-point index of the first (or last) occurrence, -1 when absent.
    static func find(_ s: String, _ sub: String, fromRight: Bool) -> Int {
        let a = Array(s.unicodeScalars), b = Array(sub.unicodeScalars)
        guard b.count <= a.count else { return -1 }
        let starts = Array(0...(a.count - b.count))
        for i in (fromRight ? starts.reversed() : starts) where Array(a[i..<(i + b.count)]) == b { return i }
        return -1
    }

    /// `sep.join(items)`: every item must be a string, as in Python.
    static func join(_ sep: String, _ items: JinjaValue) throws -> String {
        let values: [JinjaValue]
        switch items {
        case .list(let a), .tuple(let a): values = a
        case .string(let s): values = s.map { .string(String($0)) }
        case .dict(let d): values = d.keys.map(JinjaValue.string)
        default: throw JinjaFailure(.type, "can only join an iterable")
        }
        return try values.enumerated().map { i, v in
            guard case .string(let t) = v else { throw JinjaFailure(.type, "sequence item \(i): expected str instance, \(v.typeName) found") }
            return t
        }.joined(separator: sep)
    }

    /// `str.format` with `{}`, `{0}`, `{name}` and `{{`/`}}`; format specs are not supported.
    static func format(_ s: String, _ args: JinjaArgs) throws -> String {
        var out = "", auto = 0
        var chars = Array(s)[...]
        while let c = chars.popFirst() {
            if c == "{" {
                if chars.first == "{" { chars.removeFirst(); out += "{"; continue }
                guard let close = chars.firstIndex(of: "}") else { throw JinjaFailure(.type, "Single '{' encountered in format string") }
                let field = String(chars[chars.startIndex..<close])
                chars = chars[(close + 1)...]
                let value: JinjaValue?
                if field.isEmpty { value = auto < args.positional.count ? args.positional[auto] : nil; auto += 1 }
                else if let i = Int(field) { value = i < args.positional.count ? args.positional[i] : nil }
                else { value = args.keyword.first { $0.0 == field }?.1 }
                guard let value else { throw JinjaFailure(.type, "format field '\(field)' has no argument") }
                out += value.pythonStr
            } else if c == "}" {
                guard chars.first == "}" else { throw JinjaFailure(.type, "Single '}' encountered in format string") }
                chars.removeFirst(); out += "}"
            } else {
                out.append(c)
            }
        }
        return out
    }
}
