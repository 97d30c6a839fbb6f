import CLI
import Commands
import Foundation

CommandLineTool.lineBufferStandardOutput()
exit(await ForescaleCLI.main(Array(CommandLine.arguments.dropFirst())))
