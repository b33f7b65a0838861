import ArgumentParser
import Foundation
import Vision
import VLMRuntime

/// `vlm models`: the models installed in the models directory, by short name, and the llama.cpp
/// pairs (a GGUF language model with `mmproj*.gguf` beside it) found there or in the folders given.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "List locally installed models and GGUF + mmproj pairs.")

    @Argument(help: "Folders to look in for GGUF + mmproj pairs (default: the models directory and its subfolders).")
    var folders: [String] = []

    func run() throws {
        print("models directory: \(ModelLocator.modelsDirectory)")
        for m in ModelLocator.knownModels {
            let path = ModelLocator.modelsDirectory + "/" + m.file
            let state = ModelLocator.fileExists(path) ? "installed" : "missing (run scripts/setup.sh)"
            let mark = m.name == ModelLocator.defaultModelName ? " (default)" : ""
            print("\(m.name)\(mark)\t\(m.description)\t\(state)")
        }
        let pairs = (folders.isEmpty ? Self.withSubfolders(ModelLocator.modelsDirectory) : folders).flatMap(Self.pairs(in:))
        if !pairs.isEmpty { print("GGUF pairs (vlm describe IMAGE --model MODEL --mmproj MMPROJ):") }
        for line in pairs { print(line) }
    }

    static func withSubfolders(_ folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return [folder] + names.sorted().map { folder + "/" + $0 }.filter(ModelLocator.isDirectory)
    }

    /// One line per language model GGUF in `folder` that has mmproj files beside it, naming
    /// each projector as its metadata describes it (or why it cannot be read).
    static func pairs(in folder: String) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        let models = names.filter { $0.lowercased().hasSuffix(".gguf") && !$0.lowercased().hasPrefix("mmproj") }
        var lines: [String] = []
        for model in models {
            let path = folder + "/" + model
            for mmproj in GGUFPair.mmprojFiles(besideModel: path) {
                let about: String
                do {
                    let m = try MMProjFile(path: mmproj)
                    let known = GGUFPair.supportedProjectorTypes.contains(m.projectorType) ? "" : " (not supported)"
                    about = "projector \(m.projectorType)\(known), vision \(m.hiddenSize) wide x \(m.layerCount) layers, \(m.imageSize) px"
                } catch {
                    about = "unreadable: \(error)"
                }
                lines.append("\(path)\t\(mmproj)\t\(about)")
            }
        }
        return lines
    }
}
