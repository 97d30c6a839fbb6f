import Commands
import Foundation

CommandLineTool.lineBufferStandardOutput()
exit(await CommandLineTool.main(Array(CommandLine.arguments.dropFirst())))
