/// Python's printf-style `%` formatting, for the `format` filter and `'...' % x`:
/// %s %r %d %i %f %x %o %c and %%, with flags, width and precision (templates use %s and %d;
/// the exponent forms are refused rather than approximated).
enum JinjaPrintf {
    static func format(_ template: String, _ values: [JinjaValue]) throws -> String {
        var out = "", next = 0
        var chars = Array(template)[...]
        func take() throws -> JinjaValue {
            guard next < values.count else { throw JinjaFailure(.type, "not enough arguments for format string") }
            defer { next += 1 }
            return values[next]
        }
        while let c = chars.popFirst() {
            guard c == "%" else { out.append(c); continue }
            var flags = "", width = "", precision: String?
            while let f = chars.first, "-+ 0#".contains(f) { flags.append(f); chars.removeFirst() }
            while let d = chars.first, d.isASCII, d.isNumber { width.append(d); chars.removeFirst() }
            if chars.first == "." {
                chars.removeFirst()
                var p = ""
                while let d = chars.first, d.isASCII, d.isNumber { p.append(d); chars.removeFirst() }
                precision = p
            }
            guard let conversion = chars.popFirst() else { throw JinjaFailure(.type, "incomplete format") }
            var piece: String
            switch conversion {
            case "%": out.append("%"); continue
            case "s": piece = try take().pythonStr
            case "r": piece = try take().pythonRepr
            case "d", "i":
                let v = try take()
                guard let x = v.number else { throw JinjaFailure(.type, "%d format: a real number is required, not \(v.typeName)") }
                piece = String(Int(x.rounded(.towardZero)))
                if flags.contains("+") && x >= 0 { piece = "+" + piece }
            case "f", "F":
                let v = try take()
                guard let x = v.number else { throw JinjaFailure(.type, "must be real number, not \(v.typeName)") }
                piece = x.isFinite ? fixed(x, Int(precision ?? "6") ?? 6) : JinjaValue.pythonFloat(x)
                if flags.contains("+") && x >= 0 { piece = "+" + piece }
            case "x", "X", "o":
                guard case .int(let i) = try take() else { throw JinjaFailure(.type, "%\(conversion) format: an integer is required") }
                piece = String(i, radix: conversion == "o" ? 8 : 16, uppercase: conversion == "X")
            case "c":
                let v = try take()
                if case .int(let i) = v, let u = Unicode.Scalar(UInt32(clamping: i)) { piece = String(Character(u)) } else { piece = v.pythonStr }
            default: throw JinjaFailure(.type, "unsupported format character '\(conversion)'")
            }
            if let w = Int(width), piece.count < w {
                let pad = String(repeating: flags.contains("0") && !flags.contains("-") && conversion != "s" ? "0" : " ", count: w - piece.count)
                piece = flags.contains("-") ? piece + pad : pad + piece
            }
            out += piece
        }
        guard next == values.count else { throw JinjaFailure(.type, "not all arguments converted during string formatting") }
        return out
    }

    /// `x` with `digits` decimals, rounded half to even on the exact binary value (as C does).
    static func fixed(_ x: Double, _ digits: Int) -> String {
        let scale = pow10(digits)
        let scaled = (x * scale).rounded(.toNearestOrEven)
        let negative = scaled < 0 || (scaled == 0 && x.sign == .minus)
        var text = String(format0(Swift.abs(scaled)))
        if digits > 0 {
            if text.count <= digits { text = String(repeating: "0", count: digits - text.count + 1) + text }
            text.insert(".", at: text.index(text.endIndex, offsetBy: -digits))
        }
        return (negative ? "-" : "") + text
    }

    private static func format0(_ v: Double) -> String {
        v < 9.0e18 ? String(UInt64(v)) : String(v)
    }

    private static func pow10(_ n: Int) -> Double {
        var r = 1.0
        for _ in 0..<Swift.abs(n) { r *= 10 }
        return n < 0 ? 1 / r : r
    }
}
