/// The regex splits byte-level BPE tokenizers apply before merging, written out by hand (no
/// regex engine) over Unicode scalars. Each follows the alternation order of its pattern: at a
/// position the first alternative that matches wins, as in the regex engines HF and llama.cpp use.
///
/// - gpt2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// - smollm: every \p{N} isolated first (HF's Digits(individual_digits)), then gpt2.
/// - llama3 (also qwen2 with single digits): `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
///   \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
public enum PreTokenizer: Sendable {
    case gpt2, smollm, llama3, qwen2

    public init(ggufName: String) {
        switch ggufName {
        case "smollm": self = .smollm
        case "llama3", "llama-bpe", "llama-v3": self = .llama3
        case "qwen2", "deepseek-r1-qwen": self = .qwen2
        default: self = .gpt2
        }
    }

    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Array(text.unicodeScalars)
        var out: [Substring.UnicodeScalarView] = []
        func emit(_ r: Range<Int>) {
            out.append(Substring.UnicodeScalarView(scalars[r]))
        }
        switch self {
        case .gpt2: Self.gpt2(scalars, 0..<scalars.count, emit)
        case .smollm:
            var start = 0
            for i in scalars.indices where Self.isNumber(scalars[i]) {
                if start < i { Self.gpt2(scalars, start..<i, emit) }
                emit(i..<i + 1)
                start = i + 1
            }
            if start < scalars.count { Self.gpt2(scalars, start..<scalars.count, emit) }
        case .llama3: Self.llama3(scalars, maxDigits: 3, emit)
        case .qwen2: Self.llama3(scalars, maxDigits: 1, emit)
        }
        return out
    }

    @inline(__always) static func isLetter(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }
    @inline(__always) static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
    @inline(__always) static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }
    @inline(__always) static func isOther(_ c: Unicode.Scalar) -> Bool { !isSpace(c) && !isLetter(c) && !isNumber(c) }

    /// Length of a contraction ('s 't 're 've 'm 'll 'd) at i, or 0.
    static func contraction(_ s: [Unicode.Scalar], _ i: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < end else { return 0 }
        func lower(_ c: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && c.value >= 65 && c.value <= 90 ? Unicode.Scalar(c.value + 32)! : c
        }
        let a = lower(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        if i + 2 < end {
            let b = lower(s[i + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
        }
        return 0
    }

    static func gpt2(_ s: [Unicode.Scalar], _ range: Range<Int>, _ emit: (Range<Int>) -> Void) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let start = i
            let c = contraction(s, i, end, caseInsensitive: false)
            if c > 0 { emit(i..<i + c); i += c; continue }
            // ` ?X+` for X in letters, numbers, others.
            let j = (s[i] == " " && i + 1 < end) ? i + 1 : i
            for cls in [isLetter, isNumber, isOther] as [(Unicode.Scalar) -> Bool] where cls(s[j]) {
                var k = j + 1
                while k < end && cls(s[k]) { k += 1 }
                emit(start..<k); i = k
                break
            }
            if i != start { continue }
            // Whitespace: `\s+(?!\S)` then `\s+`.
            var k = i
            while k < end && isSpace(s[k]) { k += 1 }
            if k < end && k - i >= 2 { k -= 1 }   // leave the last space to prefix the next word
            emit(i..<k); i = k
        }
    }

    static func llama3(_ s: [Unicode.Scalar], maxDigits: Int, _ emit: (Range<Int>) -> Void) {
        var i = 0
        let end = s.count
        func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\r" || c == "\n" }
        while i < end {
            let c = contraction(s, i, end, caseInsensitive: true)
            if c > 0 { emit(i..<i + c); i += c; continue }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            do {
                var j = i
                if !isNewline(s[j]) && !isLetter(s[j]) && !isNumber(s[j]) && j + 1 < end && isLetter(s[j + 1]) { j += 1 }
                if isLetter(s[j]) {
                    var k = j + 1
                    while k < end && isLetter(s[k]) { k += 1 }
                    emit(i..<k); i = k; continue
                }
            }
            // `\p{N}{1,maxDigits}`
            if isNumber(s[i]) {
                var k = i + 1
                while k < end && k - i < maxDigits && isNumber(s[k]) { k += 1 }
                emit(i..<k); i = k; continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            do {
                let j = (s[i] == " " && i + 1 < end) ? i + 1 : i
                if isOther(s[j]) {
                    var k = j + 1
                    while k < end && isOther(s[k]) { k += 1 }
                    while k < end && isNewline(s[k]) { k += 1 }
                    emit(i..<k); i = k; continue
                }
            }
            // `\s*[\r\n]+`: whitespace run ending with its last newline.
            var k = i
            while k < end && isSpace(s[k]) { k += 1 }
            var lastNewline = -1
            for m in i..<k where isNewline(s[m]) { lastNewline = m }
            if lastNewline >= 0 {
                var e = lastNewline + 1
                while e < k && isNewline(s[e]) { e += 1 }
                emit(i..<e); i = e; continue
            }
            // `\s+(?!\S)|\s+`
            if k < end && k - i >= 2 { k -= 1 }
            emit(i..<k); i = k
        }
    }
}
