/// The Python methods templates call on strings, dicts and lists, and the attributes of `loop`.
/// Each returns a bound method (a callable) or nil when Python has no such attribute.
enum JinjaMethods {
    typealias Method = (JinjaArgs) throws -> JinjaValue

    private static func bound(_ name: String, _ body: @escaping Method) -> JinjaValue {
        .callable(JinjaCallable(name) { args, kwargs in try body(JinjaArgs(args, kwargs)) })
    }

    static func stringMethod(_ s: String, _ name: String) -> JinjaValue? {
        let m: Method
        switch name {
        case "strip", "lstrip", "rstrip":
            m = { a in .string(JinjaText.strip(s, chars: try a.string(0, "chars"), left: name != "rstrip", right: name != "lstrip")) }
        case "split", "rsplit":
            m = { a in .list(try JinjaText.split(s, separator: try a.string(0, "sep"), maxSplit: try a.int(1, "maxsplit", default: -1),
                                                 fromRight: name == "rsplit").map(JinjaValue.string)) }
        case "splitlines": m = { a in .list(JinjaText.splitLines(s, keepEnds: a.bool(0, "keepends", default: false)).map(JinjaValue.string)) }
        case "startswith", "endswith":
            m = { a in
                guard let p = a.get(0, "prefix") else { throw JinjaFailure(.type, "\(name)() takes at least 1 argument") }
                let options: [JinjaValue] = p.sequence ?? [p]
                return .bool(try options.contains { o in
                    guard case .string(let t) = o else { throw JinjaFailure(.type, "\(name) first arg must be str or a tuple of str") }
                    return name == "startswith" ? s.unicodeScalars.starts(with: t.unicodeScalars)
                                                : s.unicodeScalars.reversed().starts(with: t.unicodeScalars.reversed())
                })
            }
        case "removeprefix", "removesuffix":
            m = { a in
                let affix = try a.string(0, name == "removeprefix" ? "prefix" : "suffix") ?? ""
                let u = Array(s.unicodeScalars), x = Array(affix.unicodeScalars)
                if name == "removeprefix", u.starts(with: x) { return .string(JinjaText.string(u.dropFirst(x.count))) }
                if name == "removesuffix", !x.isEmpty, u.count >= x.count, Array(u.suffix(x.count)) == x { return .string(JinjaText.string(u.dropLast(x.count))) }
                return .string(s)
            }
        case "lower": m = { _ in .string(s.lowercased()) }
        case "upper": m = { _ in .string(s.uppercased()) }
        case "title": m = { _ in .string(JinjaText.pythonTitle(s)) }
        case "capitalize": m = { _ in .string(JinjaText.capitalize(s)) }
        case "swapcase": m = { _ in .string(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) })) }
        case "replace":
            m = { a in
                guard let old = try a.string(0, "old"), let new = try a.string(1, "new") else { throw JinjaFailure(.type, "replace() takes 2 arguments") }
                return .string(JinjaText.replace(s, old, new, count: try a.int(2, "count", default: -1)))
            }
        case "find", "rfind", "index", "rindex", "count":
            m = { a in
                guard let sub = try a.string(0, "sub") else { throw JinjaFailure(.type, "\(name)() takes at least 1 argument") }
                if name == "count" { return .int(JinjaText.count(s, sub)) }
                let i = JinjaText.find(s, sub, fromRight: name.hasPrefix("r"))
                if i < 0 && name.hasSuffix("index") { throw JinjaFailure(.type, "substring not found") }
                return .int(i)
            }
        case "join": m = { a in .string(try JinjaText.join(s, a.get(0, "iterable") ?? .list([]))) }
        case "format": m = { a in .string(try JinjaText.format(s, a)) }
        case "isdigit", "isnumeric", "isdecimal": m = { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.numericType != nil }) }
        case "isalpha": m = { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic }) }
        case "isalnum": m = { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil }) }
        case "isspace": m = { _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(pythonIsSpace)) }
        case "islower": m = { _ in .bool(s.contains { $0.isCased } && !s.contains { $0.isUppercase }) }
        case "isupper": m = { _ in .bool(s.contains { $0.isCased } && !s.contains { $0.isLowercase }) }
        case "zfill":
            m = { a in
                let width = try a.int(0, "width", default: 0), n = s.count
                guard n < width else { return .string(s) }
                if let f = s.first, f == "-" || f == "+" { return .string(String(f) + String(repeating: "0", count: width - n) + s.dropFirst()) }
                return .string(String(repeating: "0", count: width - n) + s)
            }
        case "center", "ljust", "rjust":
            m = { a in
                let width = try a.int(0, "width", default: 0), fill = try a.string(1, "fillchar") ?? " ", n = s.count
                guard n < width else { return .string(s) }
                let total = width - n
                let left = name == "ljust" ? 0 : name == "rjust" ? total : total / 2 + (total & width & 1)
                return .string(String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left))
            }
        default: return nil
        }
        return bound(name, m)
    }

    static func dictMethod(_ d: JinjaDict, _ name: String) -> JinjaValue? {
        switch name {
        case "items": return bound(name) { _ in .list(d.pairs.map { .tuple([.string($0.key), $0.value]) }) }
        case "keys": return bound(name) { _ in .list(d.keys.map(JinjaValue.string)) }
        case "values": return bound(name) { _ in .list(d.values) }
        case "get":
            return bound(name) { a in
                guard let k = a.get(0, "key") else { throw JinjaFailure(.type, "get expected at least 1 argument, got 0") }
                if case .string(let key) = k, let v = d[key] { return v }
                return a.get(1, "default") ?? .none
            }
        case "copy": return bound(name) { _ in .dict(d) }
        default: return nil
        }
    }

    static func listMethod(_ items: [JinjaValue], _ name: String) -> JinjaValue? {
        switch name {
        case "index":
            return bound(name) { a in
                guard let x = a.get(0, "value"), let i = items.firstIndex(where: { JinjaValue.equal($0, x) }) else {
                    throw JinjaFailure(.type, "value is not in list")
                }
                return .int(i)
            }
        case "count":
            return bound(name) { a in
                let x = a.get(0, "value") ?? .none
                return .int(items.filter { JinjaValue.equal($0, x) }.count)
            }
        case "copy": return bound(name) { _ in .list(items) }
        default: return nil
        }
    }

    static func loopAttribute(_ l: JinjaLoop, _ name: String) -> JinjaValue? {
        let n = l.items.count, i = l.index0
        switch name {
        case "index": return .int(i + 1)
        case "index0": return .int(i)
        case "revindex": return .int(n - i)
        case "revindex0": return .int(n - i - 1)
        case "first": return .bool(i == 0)
        case "last": return .bool(i == n - 1)
        case "length": return .int(n)
        case "depth": return .int(l.depth0 + 1)
        case "depth0": return .int(l.depth0)
        case "previtem": return i > 0 ? l.items[i - 1] : .undefined(name: "previtem", hint: "there is no previous item")
        case "nextitem": return i + 1 < n ? l.items[i + 1] : .undefined(name: "nextitem", hint: "there is no next item")
        case "cycle":
            return bound(name) { a in
                guard !a.positional.isEmpty else { throw JinjaFailure(.type, "no items for cycling given") }
                return a.positional[l.index0 % a.positional.count]
            }
        case "changed":
            return bound(name) { a in
                if let last = l.lastChanged, last.count == a.positional.count, zip(last, a.positional).allSatisfy({ JinjaValue.equal($0, $1) }) {
                    return .bool(false)
                }
                l.lastChanged = a.positional
                return .bool(true)
            }
        default: return nil
        }
    }
}
