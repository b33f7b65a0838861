/// The filters that walk a sequence: map, select/reject, selectattr/rejectattr, unique, sort,
/// dictsort, sum, min, max, batch. Attributes are looked up as jinja2's `make_attrgetter`
/// does: dotted paths, item first then attribute, integers as indices.
enum JinjaSequenceFilters {
    static func run(_ name: String, _ v: JinjaValue, _ a: JinjaArgs, _ interpreter: JinjaInterpreter) throws -> JinjaValue {
        let items = try interpreter.iterate(v)
        switch name {
        case "map":
            if let attribute = a.keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = a.keyword.first { $0.0 == "default" }?.1
                return .list(try items.map { item in
                    let r = try lookup(item, attribute)
                    return r.isUndefined ? fallback ?? r : r
                })
            }
            guard case .string(let filter)? = a.positional.first else { throw JinjaFailure(.type, "map needs a filter name or attribute=") }
            let rest = JinjaArgs(Array(a.positional.dropFirst()), a.keyword)
            return .list(try items.map { try JinjaFilters.run(filter, $0, rest, interpreter) })
        case "select", "reject":
            let keep = name == "select"
            return .list(try items.filter { try passes($0, a.positional, interpreter) == keep })
        case "selectattr", "rejectattr":
            guard let attribute = a.positional.first else { throw JinjaFailure(.type, "\(name) needs an attribute name") }
            let keep = name == "selectattr", test = Array(a.positional.dropFirst())
            return .list(try items.filter { try passes(try lookup($0, attribute), test, interpreter) == keep })
        case "unique":
            let caseSensitive = a.bool(0, "case_sensitive", default: false)
            let attribute = a.get(1, "attribute")
            var seen: [JinjaValue] = [], out: [JinjaValue] = []
            for item in items {
                let key = sortKey(try attribute.map { try lookup(item, $0) } ?? item, caseSensitive)
                if !seen.contains(where: { JinjaValue.equal($0, key) }) { seen.append(key); out.append(item) }
            }
            return .list(out)
        case "sort":
            let reverse = a.bool(0, "reverse", default: false), caseSensitive = a.bool(1, "case_sensitive", default: false)
            let attribute = a.get(2, "attribute")
            let keyed = try items.map { item in (sortKey(try attribute.map { try lookup(item, $0) } ?? item, caseSensitive), item) }
            return .list(try stableSort(keyed, reverse: reverse).map(\.1))
        case "dictsort":
            guard case .dict(let d) = v else { throw JinjaFailure(.type, "You can only sort by either a mapping") }
            let caseSensitive = a.bool(0, "case_sensitive", default: false)
            let byValue = try a.string(1, "by") == "value", reverse = a.bool(2, "reverse", default: false)
            let keyed = d.pairs.map { p in (sortKey(byValue ? p.value : .string(p.key), caseSensitive), JinjaValue.tuple([.string(p.key), p.value])) }
            return .list(try stableSort(keyed, reverse: reverse).map(\.1))
        case "sum":
            var total = a.get(1, "start") ?? .int(0)
            for item in items {
                let x = try a.get(0, "attribute").map { try lookup(item, $0) } ?? item
                total = try JinjaOperators.binary("+", total, x, limit: interpreter.limits.maxOutputBytes)
            }
            return total
        case "min", "max":
            let caseSensitive = a.bool(0, "case_sensitive", default: false), attribute = a.get(1, "attribute")
            var best: (JinjaValue, JinjaValue)?
            for item in items {
                let key = sortKey(try attribute.map { try lookup(item, $0) } ?? item, caseSensitive)
                if let b = best {
                    let order = try JinjaOperators.ordering(key, b.0)
                    if name == "min" ? order < 0 : order > 0 { best = (key, item) }
                } else { best = (key, item) }
            }
            return best?.1 ?? .undefined(name: name, hint: "No aggregated item, sequence was empty.")
        case "batch", "slice": return .list(try chunks(name, items, a))
        default:
            throw JinjaFailure(.syntax, "No filter named '\(name)'.")
        }
    }

    /// `batch(n, fill_with)`: rows of n items; `slice(n, fill_with)`: n columns, the first
    /// `len % n` one item longer (jinja2's two ways of cutting a sequence).
    private static func chunks(_ name: String, _ items: [JinjaValue], _ a: JinjaArgs) throws -> [JinjaValue] {
        if name == "batch" {
            let size = try a.int(0, "linecount", default: 1)
            guard size > 0 else { throw JinjaFailure(.type, "batch size must be positive") }
            var out: [JinjaValue] = []
            var i = 0
            while i < items.count {
                var row = Array(items[i..<min(i + size, items.count)])
                if row.count < size, let fill = a.get(1, "fill_with"), !fill.isNone { row += Array(repeating: fill, count: size - row.count) }
                out.append(.list(row)); i += size
            }
            return out
        }
        let n = try a.int(0, "slices", default: 1)
        guard n > 0 else { throw JinjaFailure(.type, "slice count must be positive") }
        let per = items.count / n, extra = items.count % n
        var out: [JinjaValue] = [], offset = 0
        for i in 0..<n {
            let size = per + (i < extra ? 1 : 0)
            var column = Array(items[offset..<(offset + size)])
            offset += size
            if i >= extra, extra > 0, let fill = a.get(1, "fill_with"), !fill.isNone { column.append(fill) }
            out.append(.list(column))
        }
        return out
    }

    /// Whether `item` passes the test named by `test[0]` with arguments `test[1...]`, or is
    /// true when no test is named.
    private static func passes(_ item: JinjaValue, _ test: [JinjaValue], _ interpreter: JinjaInterpreter) throws -> Bool {
        guard let first = test.first else { return item.truthy }
        guard case .string(let name) = first else { throw JinjaFailure(.type, "a test name must be a string") }
        return try JinjaTestFunctions.run(name, item, Array(test.dropFirst()), interpreter)
    }

    /// `make_attrgetter`: "a.b.0" walks items (then attributes) one part at a time.
    static func lookup(_ item: JinjaValue, _ attribute: JinjaValue) throws -> JinjaValue {
        if case .int = attribute { return try JinjaMembers.item(item, attribute) }
        guard case .string(let path) = attribute else { return try JinjaMembers.item(item, attribute) }
        var v = item
        for part in path.split(separator: ".", omittingEmptySubsequences: false) {
            if v.isUndefined { return v }
            let key: JinjaValue = Int(part).map(JinjaValue.int) ?? .string(String(part))
            v = try JinjaMembers.item(v, key)
        }
        return v
    }

    private static func sortKey(_ v: JinjaValue, _ caseSensitive: Bool) -> JinjaValue {
        if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
        return v
    }

    /// Python's sorted(): stable, `reverse` keeps equal items in their order.
    private static func stableSort(_ keyed: [(JinjaValue, JinjaValue)], reverse: Bool) throws -> [(JinjaValue, JinjaValue)] {
        var failure: Error?
        let indexed = Array(keyed.enumerated())
        let sorted = indexed.sorted { x, y in
            do {
                let order = try JinjaOperators.ordering(x.element.0, y.element.0)
                if order != 0 { return reverse ? order > 0 : order < 0 }
            } catch { failure = error }
            return x.offset < y.offset
        }
        if let failure { throw failure }
        return sorted.map(\.element)
    }
}
