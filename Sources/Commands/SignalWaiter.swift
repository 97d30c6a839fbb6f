import Dispatch
import Foundation

/// Waits for the first of some signals (their default action is disabled while waiting).
package enum SignalWaiter {
    package static func wait(for signals: [Int32]) async -> Int32 {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue(label: "forescale.signals")
            let resumed = ResumeOnce(continuation)
            var sources: [DispatchSourceSignal] = []
            for number in signals {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler { resumed.resume(number) }
                source.resume()
                sources.append(source)
            }
            resumed.keepAlive = sources
        }
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
