/// transformers' `tojson` filter: `json.dumps(x, ensure_ascii=False, indent=indent,
/// separators=separators, sort_keys=sort_keys)`, byte for byte as Python writes it (", " and
/// ": " separators, "," after items when indenting, floats as `repr`, NaN/Infinity literals,
/// control characters as \u00XX, everything else verbatim).
enum JinjaJSON {
    static func dumps(_ v: JinjaValue, _ a: JinjaArgs) throws -> String {
        let ensureASCII = a.bool(0, "ensure_ascii", default: false)
        var indent: String?
        if let i = a.get(1, "indent"), !i.isNone {
            if case .string(let s) = i { indent = s } else { indent = String(repeating: " ", count: max(0, try a.int(1, "indent", default: 0))) }
        }
        var itemSeparator = indent == nil ? ", " : ",", keySeparator = ": "
        if let s = a.get(2, "separators"), let pair = s.sequence, pair.count == 2,
           case .string(let x) = pair[0], case .string(let y) = pair[1] {
            (itemSeparator, keySeparator) = (x, y)
        }
        var writer = Writer(ensureASCII: ensureASCII, indent: indent, itemSeparator: itemSeparator,
                            keySeparator: keySeparator, sortKeys: a.bool(3, "sort_keys", default: false))
        try writer.write(v, level: 0)
        return writer.out
    }

    private struct Writer {
        let ensureASCII: Bool
        let indent: String?
        let itemSeparator: String, keySeparator: String
        let sortKeys: Bool
        var out = ""

        mutating func write(_ v: JinjaValue, level: Int) throws {
            guard level < 200 else { throw JinjaFailure(.limit, "tojson: the value is nested too deeply") }
            switch v {
            case .none: out += "null"
            case .bool(let b): out += b ? "true" : "false"
            case .int(let i): out += String(i)
            case .float(let d): out += JinjaValue.pythonFloat(d, infinity: "Infinity", nan: "NaN")
            case .string(let s): out += quoted(s)
            case .list(let items), .tuple(let items):
                try container("[", "]", items.count, level) { w, i in try w.write(items[i], level: level + 1) }
            case .dict(let d):
                var pairs = d.pairs
                if sortKeys { pairs.sort { JinjaOperators.codePointLess($0.key, $1.key) } }
                try container("{", "}", pairs.count, level) { w, i in
                    w.out += w.quoted(pairs[i].key) + w.keySeparator
                    try w.write(pairs[i].value, level: level + 1)
                }
            case .namespace, .callable, .loop, .undefined:
                throw JinjaFailure(.type, "Object of type \(v.typeName) is not JSON serializable")
            }
        }

        private mutating func container(_ open: String, _ close: String, _ count: Int, _ level: Int,
                                        _ item: (inout Writer, Int) throws -> Void) throws {
            guard count > 0 else { out += open + close; return }
            out += open
            for i in 0..<count {
                if i > 0 { out += itemSeparator }
                if let indent { out += "\n" + String(repeating: indent, count: level + 1) }
                try item(&self, i)
            }
            if let indent { out += "\n" + String(repeating: indent, count: level) }
            out += close
        }

        func quoted(_ s: String) -> String {
            var o = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": o += "\\\""
                case "\\": o += "\\\\"
                case "\n": o += "\\n"
                case "\r": o += "\\r"
                case "\t": o += "\\t"
                case "\u{08}": o += "\\b"
                case "\u{0C}": o += "\\f"
                default:
                    if u.value < 0x20 || (ensureASCII && u.value > 0x7E) {
                        if u.value > 0xFFFF {
                            let v = u.value - 0x10000
                            o += "\\u" + JinjaValue.hex(0xD800 + (v >> 10), 4) + "\\u" + JinjaValue.hex(0xDC00 + (v & 0x3FF), 4)
                        } else {
                            o += "\\u" + JinjaValue.hex(u.value, 4)
                        }
                    } else {
                        o.unicodeScalars.append(u)
                    }
                }
            }
            return o + "\""
        }
    }
}

extension JinjaOperators {
    /// Python's `<` on strings: by code point.
    static func codePointLess(_ a: String, _ b: String) -> Bool {
        (try? ordering(.string(a), .string(b))) == -1
    }
}
