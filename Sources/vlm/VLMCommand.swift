import ArgumentParser
import VLMRuntime

/// `vlm`: the command-line entry point. Each subcommand lives in its own file.
@main
struct VLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlm",
        abstract: "Run vision-language models on the CPU, with visual-token reducers.",
        subcommands: [GenerateCommand.self, LogitsCommand.self, BenchCommand.self, ModelsCommand.self])
}
