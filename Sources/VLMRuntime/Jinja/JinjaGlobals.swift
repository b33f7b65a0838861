import Foundation   // the calendar for strftime_now; not a kernel

/// The functions every template can call: jinja2's `range`, `dict`, `namespace`, `joiner`, and
/// transformers' `raise_exception` and `strftime_now`. A render variable of the same name wins.
enum JinjaGlobals {
    /// jinja2's sandbox refuses larger ranges (MAX_RANGE).
    static let maxRange = 100_000

    static func value(named name: String, _ interpreter: JinjaInterpreter) -> JinjaValue? {
        switch name {
        case "range": return function(name, range)
        case "dict":
            return function(name) { args, kwargs in
                var d = JinjaDict()
                if case .dict(let base)? = args.first { d = base }
                if let pairs = args.first?.sequence {
                    for pair in pairs {
                        guard let kv = pair.sequence, kv.count == 2, case .string(let k) = kv[0] else {
                            throw JinjaFailure(.type, "dict() needs (key, value) pairs with string keys")
                        }
                        d[k] = kv[1]
                    }
                }
                for (k, v) in kwargs { d[k] = v }
                return .dict(d)
            }
        case "namespace":
            return function(name) { args, kwargs in
                var d = JinjaDict()
                if case .dict(let base)? = args.first { d = base }
                for (k, v) in kwargs { d[k] = v }
                if let bad = d.keys.first(where: { $0.hasPrefix("_") }) { throw underscoreRefusal(bad) }
                return .namespace(interpreter.track(JinjaNamespace(d)))
            }
        case "raise_exception":
            return function(name) { args, _ in throw JinjaFailure(.raised, args.first?.pythonStr ?? "") }
        case "strftime_now":
            return function(name) { [now = interpreter.now] args, _ in
                guard case .string(let format)? = args.first else { throw JinjaFailure(.type, "strftime_now needs a format string") }
                return .string(strftime(format, now))
            }
        case "cycler":
            return function(name) { args, _ in
                guard !args.isEmpty else { throw JinjaFailure(.type, "cycler needs at least one item") }
                final class State { var position = 0 }
                let state = State()
                let object = interpreter.track(JinjaNamespace(JinjaDict()))
                object.attributes["next"] = function("next") { _, _ in
                    defer { state.position = (state.position + 1) % args.count }
                    return args[state.position]
                }
                object.attributes["reset"] = function("reset") { _, _ in state.position = 0; return .none }
                object.attributes["items"] = .list(args)
                object.current = { args[state.position] }
                return .namespace(object)
            }
        case "joiner":
            return function(name) { args, kwargs in
                let separator = JinjaArgs(args, kwargs).get(0, "sep")?.pythonStr ?? ", "
                var used = false
                return .callable(JinjaCallable("joiner") { _, _ in
                    defer { used = true }
                    return .string(used ? separator : "")
                })
            }
        default: return nil
        }
    }

    /// transformers' namespace refuses private-looking attributes.
    static func underscoreRefusal(_ name: String) -> JinjaFailure {
        JinjaFailure(.security, "Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(name)'. Please rename the attribute.")
    }

    private static func function(_ name: String, _ body: @escaping ([JinjaValue], [(String, JinjaValue)]) throws -> JinjaValue) -> JinjaValue {
        .callable(JinjaCallable(name, body))
    }

    private static func range(_ args: [JinjaValue], _: [(String, JinjaValue)]) throws -> JinjaValue {
        let ints = try args.map { v -> Int in
            switch v {
            case .int(let i): return i
            case .bool(let b): return b ? 1 : 0
            default: throw JinjaFailure(.type, "'\(v.typeName)' object cannot be interpreted as an integer")
            }
        }
        let (start, stop, step): (Int, Int, Int)
        switch ints.count {
        case 1: (start, stop, step) = (0, ints[0], 1)
        case 2: (start, stop, step) = (ints[0], ints[1], 1)
        case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
        default: throw JinjaFailure(.type, "range expected 1 to 3 arguments, got \(ints.count)")
        }
        guard step != 0 else { throw JinjaFailure(.type, "range() arg 3 must not be zero") }
        let count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0)
        guard count <= maxRange else {
            throw JinjaFailure(.security, "Range too big. The sandbox blocks ranges larger than MAX_RANGE (\(maxRange)).")
        }
        return .list((0..<count).map { .int(start + $0 * step) })
    }

    private static let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    private static let months = ["January", "February", "March", "April", "May", "June", "July", "August",
                                 "September", "October", "November", "December"]

    /// C's strftime in the C locale for the directives templates use: %Y %y %m %d %e %H %I %M
    /// %S %p %j %a %A %b %B %h %%, and glibc's %-d style (no padding).
    static func strftime(_ format: String, _ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone.current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        func pad(_ v: Int, _ width: Int, _ unpadded: Bool) -> String {
            let s = String(v)
            return unpadded ? s : String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = ""
        var chars = Array(format)[...]
        while let ch = chars.popFirst() {
            guard ch == "%", var d = chars.popFirst() else { out.append(ch); continue }
            var unpadded = false
            if d == "-", let next = chars.popFirst() { unpadded = true; d = next }
            let hour = c.hour ?? 0
            switch d {
            case "Y": out += String(c.year ?? 0)
            case "y": out += pad((c.year ?? 0) % 100, 2, unpadded)
            case "m": out += pad(c.month ?? 1, 2, unpadded)
            case "d": out += pad(c.day ?? 1, 2, unpadded)
            case "e": out += unpadded ? String(c.day ?? 1) : (c.day ?? 1 < 10 ? " " : "") + String(c.day ?? 1)
            case "H": out += pad(hour, 2, unpadded)
            case "I": out += pad(hour % 12 == 0 ? 12 : hour % 12, 2, unpadded)
            case "M": out += pad(c.minute ?? 0, 2, unpadded)
            case "S": out += pad(c.second ?? 0, 2, unpadded)
            case "p": out += hour < 12 ? "AM" : "PM"
            case "j": out += pad(dayOfYear, 3, unpadded)
            case "a": out += String(days[(c.weekday ?? 1) - 1].prefix(3))
            case "A": out += days[(c.weekday ?? 1) - 1]
            case "b", "h": out += String(months[(c.month ?? 1) - 1].prefix(3))
            case "B": out += months[(c.month ?? 1) - 1]
            case "%": out += "%"
            default: out += "%" + String(d)
            }
        }
        return out
    }
}
