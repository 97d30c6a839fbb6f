import Commands
import Foundation

CommandLineTool.lineBufferStandardOutput()
exit(await RetrainCommand.main(Array(CommandLine.arguments.dropFirst())))
