import FileIO
import Foundation

/// One `forescale` subcommand.
package protocol Subcommand {
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

/// Entry point of an executable with subcommands: parse → validate → run.
public enum CommandLineTool {
    /// The product's commands (the `forescale` CLI adds its own and the lab's).
    package static let productCommands: [any Subcommand.Type] = [
        ControllerCommand.self, RetrainCommand.self, GenerateCommand.self, TrainCommand.self, EvaluateCommand.self,
        PredictCommand.self,
    ]

    static func overview(_ tool: String, _ commands: [any Subcommand.Type], more: String) -> String {
        var text = """
            \(tool) — predictive autoscaling for Kubernetes and AWS Auto Scaling groups

            Usage: \(tool) <command> [options]

            Commands:

            """
        for command in commands {
            text += "  \(command.name.padding(toLength: 12, withPad: " ", startingAt: 0))\(command.summary)\n"
        }
        text += more + "\nRun '\(tool) <command> --help' for a command's options.\n"
        return text
    }

    /// Runs `words` as one of `commands`. A name none of them has goes to `otherwise` (the CLI hands the lab's
    /// commands to the lab executable), which answers nil when it has no such command either. `more` is added to
    /// the overview.
    package static func main(
        _ words: [String], tool: String = "forescale", commands: [any Subcommand.Type], more: String = "",
        otherwise: (String, [String]) async -> Int32? = { _, _ in nil }
    ) async -> Int32 {
        guard let name = words.first, name != "--help", name != "-h", name != "help" else {
            print(overview(tool, commands, more: more), terminator: "")
            return words.isEmpty ? ExitCode.usage : ExitCode.success
        }
        guard let command = commands.first(where: { $0.name == name }) else {
            if let status = await otherwise(name, Array(words.dropFirst())) { return status }
            printError("\(tool): unknown command '\(name)'\n\n\(overview(tool, commands, more: more))")
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

package func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}

/// Pretty, key-sorted JSON for `--json` output.
package func printJSON(_ object: Any) {
    guard JSONSerialization.isValidJSONObject(object),
        let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    else {
        // Never a silent empty answer: a non-finite number (or another non-JSON value) is a bug to see.
        printError("internal error: the result cannot be written as JSON (a non-finite number?): \(object)")
        return
    }
    print(String(decoding: data, as: UTF8.self))
}
