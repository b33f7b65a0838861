import VLMRuntime

/// Random weights for benchmarks of published shapes, where the arithmetic is what is measured
/// and not the values: uniform values of a given standard deviation from a seeded generator,
/// so that every run (and every engine fed the same seed) multiplies the same numbers.
struct RandomWeights {
    private var rng: SeededGenerator

    init(seed: UInt64) { rng = SeededGenerator(seed: seed) }

    /// `n` values uniform in +-1.7 std (std 0.02 by default, a trained model's scale).
    mutating func values(_ n: Int, std: Float = 0.02) -> [Float] {
        (0..<n).map { _ in (rng.nextUnit() * 2 - 1) * std * 1.7 }
    }

    /// A dense layer `inp -> out` with a bias (weights first, then the bias).
    mutating func linear(_ out: Int, _ inp: Int) throws -> DenseLinear {
        let weight = values(out * inp), bias = values(out)
        return try DenseLinear(weight: weight, outFeatures: out, inFeatures: inp, bias: bias, name: "random")
    }
}
