import Commands
import Foundation

CommandLineTool.lineBufferStandardOutput()
exit(await ControllerCommand.main(Array(CommandLine.arguments.dropFirst())))
