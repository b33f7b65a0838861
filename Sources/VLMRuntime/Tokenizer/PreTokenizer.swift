/// The regex splits byte-level BPE tokenizers apply before merging, written out by hand (no
/// regex engine) over Unicode scalars. Each follows the alternation order of its pattern: at a
/// position the first alternative that matches wins, as in the Oniguruma engine HF tokenizers
/// uses and in llama.cpp's hand-written versions (unicode.cpp). Merges never cross a split, so a
/// wrong split point changes the ids.
///
/// - `gpt2`: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
///   (ByteLevel's own pattern).
/// - `smollm`: every \p{N} character isolated first (HF's `Digits(individual_digits: true)`), then
///   gpt2 on each stretch between them (SmolLM2, StarCoder; llama.cpp's "smollm", "starcoder",
///   "refact", "command-r", ...).
/// - `llama3`: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
///   ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Llama 3, "llama-bpe").
/// - `qwen2`: the same with single digits, `\p{N}` instead of `\p{N}{1,3}`.
///
/// Character classes: \p{L} is the general categories Lu Ll Lt Lm Lo, \p{N} is Nd Nl No, \s is the
/// Unicode White_Space property, from Swift's `Unicode.Scalar.Properties` (ASCII from a table).
/// Works on UTF-8 bytes and hands out byte ranges, so no String is made per piece.
public enum PreTokenizer: String, Sendable, CaseIterable {
    case gpt2, smollm, llama3, qwen2

    /// The split for a GGUF `tokenizer.ggml.pre` name (the families llama.cpp maps to these
    /// patterns); unknown names get GPT-2's, which HF's ByteLevel uses when nothing else is said.
    public init(ggufName: String) {
        switch ggufName {
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b":
            self = .smollm
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
             "dbrx", "smaug-bpe", "chatglm-bpe", "glm4":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez", "kormo":
            self = .qwen2
        default:
            self = .gpt2
        }
    }

    // MARK: Character classes

    struct Flags: OptionSet {
        let rawValue: UInt8
        static let letter = Flags(rawValue: 1)
        static let number = Flags(rawValue: 2)
        static let space = Flags(rawValue: 4)
        /// \r or \n (the llama3 pattern treats them apart from other whitespace).
        static let newline = Flags(rawValue: 8)
    }

    static let asciiFlags: [UInt8] = (0..<128).map { b -> UInt8 in
        let c = Unicode.Scalar(UInt8(b))
        var f: UInt8 = 0
        if (65...90).contains(b) || (97...122).contains(b) { f |= Flags.letter.rawValue }
        if (48...57).contains(b) { f |= Flags.number.rawValue }
        if c.properties.isWhitespace { f |= Flags.space.rawValue }
        if b == 10 || b == 13 { f |= Flags.newline.rawValue }
        return f
    }

    @inline(__always)
    static func flags(_ v: UInt32) -> UInt8 {
        if v < 128 { return asciiFlags[Int(v)] }
        guard let c = Unicode.Scalar(v) else { return 0 }
        let p = c.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return Flags.letter.rawValue
        case .decimalNumber, .letterNumber, .otherNumber:
            return Flags.number.rawValue
        default:
            return p.isWhitespace ? Flags.space.rawValue : 0
        }
    }

    // MARK: Splitting

    /// Scratch space for one `split` call, reused across calls by the caller.
    struct Scratch {
        /// Per scalar: its first byte offset (one more entry for the end) and its class flags.
        var offsets: [Int32] = []
        var flags: [UInt8] = []
        var values: [UInt32] = []
    }

    /// Splits `bytes[range]` (valid UTF-8) and hands each piece, as a byte range, to `emit`.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, scratch: inout Scratch,
               _ emit: (Range<Int>) -> Void) {
        // Decode scalars once; the patterns look at classes and a few ASCII values.
        scratch.offsets.removeAll(keepingCapacity: true)
        scratch.flags.removeAll(keepingCapacity: true)
        scratch.values.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        while i < range.upperBound {
            let b0 = bytes[i]
            var v: UInt32, n: Int
            if b0 < 0x80 { v = UInt32(b0); n = 1 }
            else if b0 < 0xE0 { v = UInt32(b0 & 0x1F); n = 2 }
            else if b0 < 0xF0 { v = UInt32(b0 & 0x0F); n = 3 }
            else { v = UInt32(b0 & 0x07); n = 4 }
            n = min(n, range.upperBound - i)
            for k in 1..<max(n, 1) { v = v << 6 | UInt32(bytes[i + k] & 0x3F) }
            scratch.offsets.append(Int32(i))
            scratch.values.append(v)
            scratch.flags.append(Self.flags(v))
            i += n
        }
        scratch.offsets.append(Int32(range.upperBound))
        let count = scratch.values.count
        scratch.offsets.withUnsafeBufferPointer { off in
            scratch.flags.withUnsafeBufferPointer { fl in
                scratch.values.withUnsafeBufferPointer { cp in
                    let s = Scalars(offsets: off, flags: fl, values: cp)
                    func emitScalars(_ a: Int, _ b: Int) { emit(Int(off[a])..<Int(off[b])) }
                    switch self {
                    case .gpt2: Self.gpt2(s, 0, count, emitScalars)
                    case .smollm:
                        var start = 0
                        for k in 0..<count where fl[k] & Flags.number.rawValue != 0 {
                            if start < k { Self.gpt2(s, start, k, emitScalars) }
                            emitScalars(k, k + 1)
                            start = k + 1
                        }
                        if start < count { Self.gpt2(s, start, count, emitScalars) }
                    case .llama3: Self.llama3(s, 0, count, maxDigits: 3, emitScalars)
                    case .qwen2: Self.llama3(s, 0, count, maxDigits: 1, emitScalars)
                    }
                }
            }
        }
    }

    /// Convenience for tests and tools: the pieces of `text` as strings.
    public func split(_ text: String) -> [String] {
        let bytes = Array(text.utf8)
        var scratch = Scratch()
        var out: [String] = []
        bytes.withUnsafeBufferPointer { p in
            split(p, 0..<p.count, scratch: &scratch) { out.append(String(decoding: p[$0], as: UTF8.self)) }
        }
        return out
    }

    struct Scalars {
        let offsets: UnsafeBufferPointer<Int32>
        let flags: UnsafeBufferPointer<UInt8>
        let values: UnsafeBufferPointer<UInt32>
        @inline(__always) func isLetter(_ i: Int) -> Bool { flags[i] & Flags.letter.rawValue != 0 }
        @inline(__always) func isNumber(_ i: Int) -> Bool { flags[i] & Flags.number.rawValue != 0 }
        @inline(__always) func isSpace(_ i: Int) -> Bool { flags[i] & Flags.space.rawValue != 0 }
        @inline(__always) func isNewline(_ i: Int) -> Bool { flags[i] & Flags.newline.rawValue != 0 }
        /// `[^\s\p{L}\p{N}]`
        @inline(__always) func isOther(_ i: Int) -> Bool { flags[i] & 7 == 0 }
        @inline(__always) func value(_ i: Int) -> UInt32 { values[i] }
    }

    /// Length of a contraction ('s 't 're 've 'm 'll 'd) at `i`, or 0.
    @inline(__always)
    static func contraction(_ s: Scalars, _ i: Int, _ end: Int, caseInsensitive: Bool) -> Int {
        guard s.value(i) == 0x27, i + 1 < end else { return 0 }   // '
        @inline(__always) func lower(_ v: UInt32) -> UInt32 { caseInsensitive && v >= 65 && v <= 90 ? v + 32 : v }
        let a = lower(s.value(i + 1))
        if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 { return 2 }   // s t m d
        if i + 2 < end {
            let b = lower(s.value(i + 2))
            if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) { return 3 }   // re ve ll
        }
        return 0
    }

    static func gpt2(_ s: Scalars, _ start: Int, _ end: Int, _ emit: (Int, Int) -> Void) {
        var i = start
        while i < end {
            let c = contraction(s, i, end, caseInsensitive: false)
            if c > 0 { emit(i, i + c); i += c; continue }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: an optional space, then a run of one class.
            let j = (s.value(i) == 0x20 && i + 1 < end) ? i + 1 : i
            var k = j
            if s.isLetter(j) { while k < end && s.isLetter(k) { k += 1 } }
            else if s.isNumber(j) { while k < end && s.isNumber(k) { k += 1 } }
            else if s.isOther(j) { while k < end && s.isOther(k) { k += 1 } }
            if k > j { emit(i, k); i = k; continue }
            // `\s+(?!\S)` then `\s+`: a whitespace run, less its last character when a
            // non-space follows (that one prefixes the next word).
            k = i
            while k < end && s.isSpace(k) { k += 1 }
            if k < end && k - i >= 2 { k -= 1 }
            emit(i, k); i = k
        }
    }

    static func llama3(_ s: Scalars, _ start: Int, _ end: Int, maxDigits: Int, _ emit: (Int, Int) -> Void) {
        var i = start
        while i < end {
            let c = contraction(s, i, end, caseInsensitive: true)
            if c > 0 { emit(i, i + c); i += c; continue }
            // `[^\r\n\p{L}\p{N}]?\p{L}+`
            if !s.isNewline(i) && !s.isNumber(i) {
                let j = s.isLetter(i) ? i : i + 1
                if j < end && s.isLetter(j) {
                    var k = j + 1
                    while k < end && s.isLetter(k) { k += 1 }
                    emit(i, k); i = k; continue
                }
            }
            // `\p{N}{1,3}` (or `\p{N}`)
            if s.isNumber(i) {
                var k = i + 1
                while k < end && k - i < maxDigits && s.isNumber(k) { k += 1 }
                emit(i, k); i = k; continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let j = (s.value(i) == 0x20 && i + 1 < end) ? i + 1 : i
            if s.isOther(j) {
                var k = j + 1
                while k < end && s.isOther(k) { k += 1 }
                while k < end && s.isNewline(k) { k += 1 }
                emit(i, k); i = k; continue
            }
            // `\s*[\r\n]+`: a whitespace run up to and including its last newline.
            var k = i, afterNewline = -1
            while k < end && s.isSpace(k) {
                if s.isNewline(k) { afterNewline = k + 1 }
                k += 1
            }
            if afterNewline > 0 { emit(i, afterNewline); i = afterNewline; continue }
            // `\s+(?!\S)|\s+`
            if k < end && k - i >= 2 { k -= 1 }
            if k == i { k = i + 1 }   // unreachable for valid classes; never loop forever
            emit(i, k); i = k
        }
    }
}
