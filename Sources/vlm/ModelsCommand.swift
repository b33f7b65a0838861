import ArgumentParser
import VLMRuntime

/// `vlm models`: the models installed in the models directory, by short name.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List locally installed models.")

    func run() throws {
        print("models directory: \(ModelLocator.modelsDirectory)")
        for m in ModelLocator.knownModels {
            let path = ModelLocator.modelsDirectory + "/" + m.file
            let state = ModelLocator.fileExists(path) ? "installed" : "missing (run scripts/setup.sh)"
            let mark = m.name == ModelLocator.defaultModelName ? " (default)" : ""
            print("\(m.name)\(mark)\t\(m.description)\t\(state)")
        }
    }
}
