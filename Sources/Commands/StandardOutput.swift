@preconcurrency import Glibc

extension CommandLineTool {
    /// Progress lines must reach a pipe or log file as they happen, not when the buffer fills.
    public static func lineBufferStandardOutput() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }
}
