/// Holds back text that might be the start of a stop string, so that a stop string is never
/// printed, even when it arrives split across tokens.
struct StopStringMatcher {
    let stops: [String]
    private var pending = ""

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Returns the text that is safe to emit, and whether a stop string was completed (the text
    /// before it is emitted; the stop string and anything after are dropped).
    mutating func feed(_ piece: String) -> (String, Bool) {
        if stops.isEmpty { return (piece, false) }
        pending += piece
        for s in stops {
            if let r = pending.firstRange(of: s) {
                let before = String(pending[..<r.lowerBound])
                pending = ""
                return (before, true)
            }
        }
        // Keep the longest suffix of `pending` that is a prefix of some stop string.
        var keep = 0
        for s in stops {
            for n in stride(from: min(s.count - 1, pending.count), to: 0, by: -1)
            where pending.hasSuffix(String(s.prefix(n))) {
                keep = max(keep, n); break
            }
        }
        let emit = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return (emit, false)
    }

    mutating func flush() -> String { defer { pending = "" }; return pending }
}
