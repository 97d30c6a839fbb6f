import Commands
import Foundation
import Lab

CommandLineTool.lineBufferStandardOutput()
exit(await LabTool.main(Array(CommandLine.arguments.dropFirst())))
