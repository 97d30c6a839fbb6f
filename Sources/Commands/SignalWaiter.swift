import Dispatch
import Foundation

/// Waits for the first of some signals (their default action is disabled while waiting).
package enum SignalWaiter {
    package static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { continuation in
            let resumed = ResumeOnce(continuation)
            resumed.keepAlive = sources(for: signals, label: "forescale.signals") { resumed.resume($0) }
        }
    }

    /// From now on, the first of `signals` ends the process: `note` is printed to standard error and the exit
    /// status is 128 + the signal, as the default action reports it. For a command whose work is not
    /// interruptible in steps but whose every write is atomic (the trainer): in a container it runs as PID 1,
    /// which the kernel gives no default action, so without this SIGTERM would wait for the grace period's SIGKILL.
    package static func exit(on signals: [Int32], note: @escaping @Sendable (Int32) -> String) {
        for source in sources(
            for: signals, label: "forescale.signals.exit",
            handler: { number in
                FileHandle.standardError.write(Data((note(number) + "\n").utf8))
                Foundation.exit(128 + number)
            })
        {
            exitSources.keep(source)
        }
    }

    /// A running source per signal on one serial queue, the signal's default action disabled: `handler` gets the
    /// signal's number.
    private static func sources(
        for signals: [Int32], label: String, handler: @escaping @Sendable (Int32) -> Void
    ) -> [DispatchSourceSignal] {
        let queue = DispatchQueue(label: label)
        return signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    /// The sources live as long as the process.
    private static let exitSources = KeptSources()

    /// Dispatch sources are not Sendable; these are only appended to, under the lock, and never read.
    private final class KeptSources: @unchecked Sendable {
        private let lock = NSLock()
        private var sources: [DispatchSourceSignal] = []
        func keep(_ source: DispatchSourceSignal) { lock.withLock { sources.append(source) } }
    }

    private final class ResumeOnce: @unchecked Sendable {
        private var continuation: CheckedContinuation<Int32, Never>?
        var keepAlive: [DispatchSourceSignal] = []
        init(_ continuation: CheckedContinuation<Int32, Never>) { self.continuation = continuation }
        /// Runs on the signal queue only.
        func resume(_ number: Int32) {
            continuation?.resume(returning: number)
            continuation = nil
            for item in keepAlive { item.cancel() }
        }
    }
}
