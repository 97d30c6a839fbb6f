import FileIO
import Foundation

/// One `forescale` subcommand.
protocol Subcommand {
    static var name: String { get }
    static var summary: String { get }
    /// Full usage text, shown by `--help` and after usage errors.
    static var usage: String { get }
    static func run(_ arguments: inout Arguments) async throws -> Int32
}

/// Exit codes (sysexits.h).
public enum ExitCode {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    public static let usage: Int32 = 64
}

/// Entry point of the `forescale` executable: parse → validate → run.
public enum CommandLineTool {
    static var subcommands: [any Subcommand.Type] {
        [
            DemoCommand.self, BacktestCommand.self, ControllerCommand.self, TrainerCommand.self, APIServerCommand.self,
            GenerateCommand.self, TrainCommand.self, EvaluateCommand.self, PredictCommand.self, BenchCommand.self,
            SimulatorCommand.self, FaultProxyCommand.self, SoakCommand.self,
        ]
    }

    static var overview: String {
        var text = """
            forescale — predictive autoscaling for Kubernetes and AWS Auto Scaling groups

            Usage: forescale <command> [options]

            Commands:

            """
        for command in subcommands {
            text += "  \(command.name.padding(toLength: 12, withPad: " ", startingAt: 0))\(command.summary)\n"
        }
        text += "\nRun 'forescale <command> --help' for a command's options.\n"
        return text
    }

    public static func main(_ words: [String]) async -> Int32 {
        guard let name = words.first, name != "--help", name != "-h", name != "help" else {
            print(overview, terminator: "")
            return words.isEmpty ? ExitCode.usage : ExitCode.success
        }
        guard let command = subcommands.first(where: { $0.name == name }) else {
            printError("forescale: unknown command '\(name)'\n\n\(overview)")
            return ExitCode.usage
        }
        var arguments = Arguments(Array(words.dropFirst()))
        if arguments.wantsHelp {
            print(command.usage)
            return ExitCode.success
        }
        do {
            return try await command.run(&arguments)
        } catch let error as UsageError {
            printError("forescale \(command.name): \(error.message)\n\n\(command.usage)")
            return ExitCode.usage
        } catch let error as InputFileError {
            printError("forescale \(command.name): \(error.description)")
            return ExitCode.usage
        } catch let error as AtomicFile.WriteError {
            // A file the command was asked to write cannot be: a problem with its input, 64.
            printError("forescale \(command.name): \(error.description)")
            return ExitCode.usage
        } catch {
            printError("forescale \(command.name): \(error)")
            return ExitCode.failure
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// Pretty, key-sorted JSON for `--json` output.
func printJSON(_ object: Any) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys]) {
        print(String(decoding: data, as: UTF8.self))
    }
}
