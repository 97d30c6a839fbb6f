import CCurl
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Drives every transfer of one `HTTPClient` on a single dedicated thread with
/// libcurl's multi interface. The multi handle owns the connection cache, so
/// connections are reused across requests (keep-alive), and no thread blocks per request.
///
/// Other threads talk to the loop only through `submit` and `cancel`, which queue a
/// command and wake the loop with `curl_multi_wakeup`.
final class CurlMultiLoop: @unchecked Sendable {
    private enum Command {
        case add(CurlTransfer)
        case cancel(CurlTransfer, TransportError)
    }

    private struct Shared {
        var commands: [Command] = []
        var isStopping = false
        /// The loop's own thread, so `stop` called from it (a client released by a callback
        /// on this thread) does not wait for itself.
        var loopThread: pthread_t?
        /// Set by the loop just before `curl_multi_cleanup`; after it nobody may touch `multi`.
        var isClosed = false
    }

    private let multi: UnsafeMutableRawPointer
    private let shared = Mutex(Shared())
    private let finished = DispatchSemaphore(value: 0)
    /// Loop-thread only.
    private var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]

    init(maxConnectionsPerHost: Int) {
        CurlGlobal.initialize()
        multi = curl_multi_init()
        _ = fs_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, maxConnectionsPerHost)
        let thread = Thread { [self] in run() }
        thread.name = "forescale.curl"
        thread.start()
    }

    func submit(_ transfer: CurlTransfer) {
        let accepted = shared.withLock { state -> Bool in
            guard !state.isStopping else { return false }
            state.commands.append(.add(transfer))
            curl_multi_wakeup(multi)
            return true
        }
        if !accepted { transfer.complete(.clientShutDown) }
    }

    func cancel(_ transfer: CurlTransfer, reason: TransportError = .cancelled) {
        shared.withLock { state in
            guard !state.isClosed else { return }
            state.commands.append(.cancel(transfer, reason))
            curl_multi_wakeup(multi)
        }
    }

    /// Fails every transfer in flight with `.clientShutDown` and ends the thread.
    func stop() {
        let (wasStopping, isLoopThread) = shared.withLock { state -> (Bool, Bool) in
            defer { state.isStopping = true }
            let onLoop = state.loopThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
            if !state.isStopping && !state.isClosed { curl_multi_wakeup(multi) }
            return (state.isStopping, onLoop)
        }
        guard !wasStopping else { return }
        // On the loop thread the loop ends after the current iteration; waiting would deadlock.
        if !isLoopThread { finished.wait() }
    }

    private func run() {
        shared.withLock { $0.loopThread = pthread_self() }
        var running: Int32 = 0
        while true {
            let (commands, isStopping) = shared.withLock { state in
                defer { state.commands.removeAll() }
                return (state.commands, state.isStopping)
            }
            for command in commands { apply(command) }
            if isStopping {
                for transfer in Array(active.values) { remove(transfer, error: .clientShutDown) }
                let late = shared.withLock { state in
                    defer { state.commands.removeAll() }
                    return state.commands
                }
                for case .add(let transfer) in late { transfer.complete(.clientShutDown) }
                // Closes every cached connection now, on this thread, rather than whenever
                // the last reference to the loop happens to go away.
                shared.withLock { $0.isClosed = true }
                curl_multi_cleanup(multi)
                finished.signal()
                return
            }
            curl_multi_perform(multi, &running)
            collectFinished()
            let pollMilliseconds = enforceIdleTimeouts()
            curl_multi_poll(multi, nil, 0, Int32(pollMilliseconds), nil)
        }
    }

    private func apply(_ command: Command) {
        switch command {
        case .add(let transfer):
            if transfer.isCancelledBeforeStart {
                transfer.complete(.cancelled)
                return
            }
            do {
                let easy = try transfer.makeEasyHandle()
                active[easy] = transfer
                curl_multi_add_handle(multi, easy)
            } catch {
                transfer.complete(error)
            }
        case .cancel(let transfer, let reason):
            if transfer.easy.map({ active[$0] != nil }) == true {
                remove(transfer, error: reason)
            } else {
                transfer.isCancelledBeforeStart = true
            }
        }
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle,
                let transfer = active[easy]
            else { continue }
            let result = message.pointee.data.result
            remove(transfer, error: transfer.error(for: result))
        }
    }

    private func remove(_ transfer: CurlTransfer, error: TransportError?) {
        if let easy = transfer.easy {
            active[easy] = nil
            curl_multi_remove_handle(multi, easy)
        }
        transfer.complete(error)
    }

    /// Fails transfers that have been silent longer than their idle timeout and returns
    /// how long the loop may sleep before the next deadline (at most one second).
    private func enforceIdleTimeouts() -> Int {
        var sleep = 1000
        let now = ContinuousClock.now
        var expired: [(CurlTransfer, Duration)] = []
        // Runs every loop iteration: no copy of the active set, allocation only on expiry.
        for transfer in active.values {
            guard let idle = transfer.request.idleTimeout else { continue }
            let deadline = transfer.lastActivity + idle
            if deadline <= now {
                expired.append((transfer, idle))
            } else {
                sleep = min(sleep, max(1, (deadline - now).milliseconds + 1))
            }
        }
        for (transfer, idle) in expired { remove(transfer, error: .idleTimeout(idle)) }
        return sleep
    }
}

/// `curl_global_init` must run once before any other libcurl call, from one thread.
enum CurlGlobal {
    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
        return true
    }()

    static func initialize() { _ = initialized }
}
