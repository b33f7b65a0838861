import ArgumentParser
import Foundation
import VLMRuntime

/// `vlm`: the command-line entry point. Each subcommand lives in its own file.
@main
struct VLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vlm",
        abstract: "Run vision-language models on the CPU, with visual-token reducers.",
        subcommands: [DescribeCommand.self, AskCommand.self, BatchCommand.self, ServeCommand.self, GenerateCommand.self, LogitsCommand.self,
                      BenchCommand.self, EncoderBenchCommand.self, ReducerBenchCommand.self, ProbeCommand.self, FramesCommand.self,
                      ModelsCommand.self, EvalCommand.self, KVAccuracyCommand.self, PromptCommand.self])

    /// ArgumentParser exits with 64 (EX_USAGE) on bad arguments; ../shared/CONTRACT.md says 2.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
