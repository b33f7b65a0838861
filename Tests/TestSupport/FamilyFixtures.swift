import Foundation

/// The family fixtures under Fixtures/vlms: a loadable model directory for each, the fixture
/// itself, or, for fixtures whose weights are generated (weights.json, GeneratedWeights), a
/// copy with model.safetensors written once per test process and removed at exit.
public enum FamilyFixtures {
    public static let root = vlmFixtures
    nonisolated(unsafe) private static var generated: [String: String] = [:]
    private static let lock = NSLock()

    public static func isGenerated(_ name: String) -> Bool { FileManager.default.fileExists(atPath: root + "/" + name + "/weights.json") }

    public static func directory(_ name: String) throws -> String {
        let fixture = root + "/" + name
        guard isGenerated(name) else { return fixture }
        lock.lock(); defer { lock.unlock() }
        if let dir = generated[name] { return dir }
        if generated.isEmpty { atexit { FamilyFixtures.removeGenerated() } }
        let dir = try GeneratedWeights.materialize(fixture: fixture)
        generated[name] = dir
        return dir
    }

    public static func removeGenerated() {
        for dir in generated.values { GeneratedWeights.remove(dir) }
        generated = [:]
    }
}
