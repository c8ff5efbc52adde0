import CSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGTERM, SIGINT and SIGHUP into calls of `handler`, on a thread of its own.
///
/// A C handler (`sigaction`, in place when `init` returns) writes each signal's number to a pipe,
/// and the thread reads it. Not libdispatch's signal sources: they install their handler later,
/// on their manager thread, and until then the signal is ignored; a SIGHUP sent right after the
/// agent came online was lost that way, now and then, on a loaded machine. The handler works on
/// any thread, whatever its signal mask. One watcher per process (the handler has one pipe).
public final class SignalWatcher: Sendable {
    private let shared: Shared

    private final class Shared: Sendable {
        let readFD: Int32
        let writeFD: Int32
        let stopped = Atomic<Bool>(false)
        let handler: @Sendable (Int32) -> Void

        init(readFD: Int32, writeFD: Int32, handler: @escaping @Sendable (Int32) -> Void) {
            (self.readFD, self.writeFD, self.handler) = (readFD, writeFD, handler)
        }

        /// Reads signal numbers until cancelled.
        func run() {
            var byte: UInt8 = 0
            while true {
                let count = read(readFD, &byte, 1)
                if count < 0 && errno == EINTR { continue }
                guard count == 1, !stopped.load(ordering: .acquiring) else { return }
                handler(Int32(byte))
            }
        }
    }

    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: \(errno)")
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        shared = Shared(readFD: fds[0], writeFD: fds[1], handler: handler)
        // The handler must never block: with the pipe full (64 KiB of unread signals) a byte is dropped.
        _ = fcntl(fds[1], F_SETFL, fcntl(fds[1], F_GETFL) | O_NONBLOCK)
        let shared = self.shared
        // Failing to make a thread at start-up is not an environment the agent can work around.
        precondition(startThread(named: "signals") { shared.run() }, "cannot start the signal thread")
        for number in signals {
            precondition(hatchling_catch_signal_to_pipe(number, fds[1]) == 0, "sigaction(\(number)) failed: \(errno)")
        }
    }

    /// Stops calling the handler. Signals that come later are still caught, and dropped: never
    /// their default action, which would end the process in the middle of its shutdown.
    public func cancel() {
        guard !shared.stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Wakes the reader, which sees `stopped` and ends. The pipe stays open: the C handler
        // may still write to it.
        var byte: UInt8 = 0
        _ = write(shared.writeFD, &byte, 1)
    }
}
