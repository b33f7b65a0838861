/// How Python prints values: `str(x)` for `{{ x }}` and the `string` filter, `repr(x)` for the
/// items of a printed list or dict. Templates print these directly (`{{ tool.parameters }}`,
/// `{{ none }}`), and the model saw exactly Python's spelling.
extension JinjaValue {
    /// `str(x)`; an undefined value prints as nothing (Jinja's default `Undefined`).
    public var pythonStr: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return pythonRepr
        }
    }

    /// `repr(x)`.
    public var pythonRepr: String { repr(depth: 0) }

    /// Values a template builds can nest without bound (`{% set ns.x = [ns.x] %}` in a loop);
    /// past this depth they print as "..." instead of recursing off the stack.
    static let maxPrintDepth = 100

    private func repr(depth: Int) -> String {
        if depth > Self.maxPrintDepth { return "..." }
        let d = depth + 1
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .float(let d): return Self.pythonFloat(d)
        case .string(let s): return Self.pythonQuoted(s)
        case .list(let a): return "[" + a.map { $0.repr(depth: d) }.joined(separator: ", ") + "]"
        case .tuple(let a): return a.count == 1 ? "(\(a[0].repr(depth: d)),)" : "(" + a.map { $0.repr(depth: d) }.joined(separator: ", ") + ")"
        case .dict(let m): return "{" + m.pairs.map { Self.pythonQuoted($0.key) + ": " + $0.value.repr(depth: d) }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace " + JinjaValue.dict(n.attributes).repr(depth: d) + ">"
        case .callable(let c): return "<function \(c.name)>"
        case .loop: return "<LoopContext>"
        }
    }

    /// `repr(float)`: the shortest digits that round-trip (Swift finds the same ones), laid out as
    /// Python does: positional when the decimal exponent is in [-4, 16), scientific otherwise,
    /// with at least ".0" and a two-digit signed exponent.
    static func pythonFloat(_ d: Double, infinity: String = "inf", nan: String = "nan") -> String {
        if d.isNaN { return nan }
        if d.isInfinite { return d < 0 ? "-" + infinity : infinity }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (digits, exponent) = shortestDigits(abs(d))
        let sign = d < 0 ? "-" : ""
        if exponent >= -4 && exponent < 16 {
            if exponent < 0 { return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits }
            let intCount = exponent + 1
            if digits.count <= intCount { return sign + digits + String(repeating: "0", count: intCount - digits.count) + ".0" }
            let i = digits.index(digits.startIndex, offsetBy: intCount)
            return sign + digits[..<i] + "." + digits[i...]
        }
        let mantissa = digits.count == 1 ? digits : String(digits.first!) + "." + digits.dropFirst()
        let e = abs(exponent)
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (e < 10 ? "0" : "") + String(e)
    }

    /// The significant digits of a positive finite double (no leading or trailing zeros) and the
    /// decimal exponent of the first one, read from Swift's shortest round-trip description.
    private static func shortestDigits(_ d: Double) -> (String, Int) {
        let text = d.description
        var mantissa = Substring(text), exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = String(parts[0]), fracPart = parts.count > 1 ? String(parts[1]) : ""
        var all = intPart + fracPart
        var pointAfter = intPart.count   // digits before the decimal point
        while all.hasPrefix("0") && all.count > 1 { all.removeFirst(); pointAfter -= 1 }
        while all.hasSuffix("0") && all.count > 1 { all.removeLast() }
        return (all, exponent + pointAfter - 1)
    }

    /// `repr(str)`: single quotes unless the text has one and no double quote; backslash escapes
    /// for the quote, backslash, \t \n \r and every character Python does not call printable.
    static func pythonQuoted(_ s: String) -> String {
        let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default:
                if Character(u) == quote { out += "\\" + String(quote) }
                else if pythonPrintable(u) { out.unicodeScalars.append(u) }
                else if u.value < 0x100 { out += "\\x" + hex(u.value, 2) }
                else if u.value < 0x10000 { out += "\\u" + hex(u.value, 4) }
                else { out += "\\U" + hex(u.value, 8) }
            }
        }
        out.append(quote)
        return out
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// `str.isprintable` for one character: everything but the control, format, surrogate,
    /// private-use, unassigned and separator categories (the ASCII space is printable).
    static func pythonPrintable(_ u: Unicode.Scalar) -> Bool {
        if u == " " { return true }
        switch u.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator: return false
        default: return true
        }
    }
}
