import VLMRuntime
/// VidKV's semantic token protection: which visual tokens a cache that offers it should keep
/// at higher precision.
enum VisualTokenProtection {
    /// The `fraction` of visual positions in `span` whose embeddings agree most with the
    /// prompt's text (dot product with the mean text-token embedding); ties by position.
    static func textRelevantTokens(ids: [Int32], embeddings: [Float], span: Range<Int>, width d: Int, fraction: Double) -> Set<Int> {
        let textPositions = (0..<ids.count).filter { !span.contains($0) }
        guard !textPositions.isEmpty else { return [] }
        return embeddings.withUnsafeBufferPointer { e -> Set<Int> in
            var mean = [Float](repeating: 0, count: d)
            for p in textPositions { for i in 0..<d { mean[i] += e[p * d + i] } }
            var scored: [(position: Int, score: Float)] = []
            scored.reserveCapacity(span.count)
            for p in span {
                var s: Float = 0
                for i in 0..<d { s += e[p * d + i] * mean[i] }
                scored.append((p, s))
            }
            scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.position < $1.position }
            return Set(scored.prefix(max(1, Int(Double(span.count) * fraction))).map(\.position))
        }
    }
}
