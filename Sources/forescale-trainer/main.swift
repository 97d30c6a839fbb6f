import Commands
import Foundation

CommandLineTool.lineBufferStandardOutput()
exit(await TrainerCommand.main(Array(CommandLine.arguments.dropFirst())))
