#if canImport(Glibc)
import Glibc
#endif

/// Finds model files: an explicit path, or a short name of a model installed by
/// scripts/setup.sh in the models directory ($VLM_MODELS, default ~/.cache/vlm/models).
public enum ModelLocator {
    /// Short names for the models the setup script installs, and their files.
    public static let knownModels: [(name: String, file: String, description: String)] = [
        ("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct, Q4_1 GGUF (text)"),
        ("gemma3-270m", "gemma-3-270m-q4_k_m.gguf", "Gemma 3 270M base, Q4_K_M GGUF (text)"),
        ("shapes-vlm", "shapes-vlm", "vlm's own VLM: DINOv2 ViT-S/14 + a projector trained on ShapesBench + SmolLM2-135M"),
    ]

    /// The model used when `--model` is not given.
    public static let defaultModelName = "smollm2-135m"
    /// The model that media commands (describe, ask, batch, serve, eval) use without `--model`.
    public static let defaultVisionModelName = "shapes-vlm"

    public static var modelsDirectory: String {
        if let dir = getenv("VLM_MODELS").map({ String(cString: $0) }), !dir.isEmpty { return dir }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.cache/vlm/models"
    }

    /// Resolves `--model`: a path to a file or directory that exists, else a known short name,
    /// else a file of that name in the models directory.
    public static func resolve(_ nameOrPath: String?, default fallback: String = defaultModelName) throws -> String {
        let wanted = nameOrPath ?? fallback
        if fileExists(wanted) { return wanted }
        if let known = knownModels.first(where: { $0.name == wanted }) {
            let path = modelsDirectory + "/" + known.file
            guard fileExists(path) else {
                throw VLMError.badInput("model '\(wanted)' is not installed at \(path); run scripts/setup.sh")
            }
            return path
        }
        let inDir = modelsDirectory + "/" + wanted
        if fileExists(inDir) { return inDir }
        let names = knownModels.map(\.name).joined(separator: ", ")
        throw VLMError.badInput("no model '\(wanted)': not a file or directory, and not one of: \(names)")
    }

    public static func isDirectory(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0 && (s.st_mode & S_IFMT) == S_IFDIR
    }

    public static func fileExists(_ path: String) -> Bool {
        var s = stat()
        return stat(path, &s) == 0
    }
}
