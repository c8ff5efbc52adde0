import CSystem

/// Signals as bytes on a pipe: a C handler (`sigaction`, in place when `init` returns) writes each
/// signal's number to the pipe, and the agent's event loop (or a watcher thread) polls its read end
/// with everything else, so a signal is one more event on the loop's own thread. It works whatever
/// the threads' signal masks (the hub's cooperative pool included), which signalfd does not:
/// a signal must be blocked in every thread for signalfd to see it. Not libdispatch's signal
/// sources either: they install their handler later, from their manager thread, and a SIGHUP sent
/// in between was lost. One per process (the C handler has one pipe).
public final class SignalPipe: Sendable {
    /// The read end, non-blocking: poll it for POLLIN, then `next()` until nil.
    public let fd: Int32
    private let writeFD: Int32

    public init(_ signals: [Int32]) throws(SystemError) {
        var fds: [Int32] = [-1, -1]
        try Syscall.retrying("pipe2") { hatchling_pipe2(&fds, O_CLOEXEC | O_NONBLOCK) }
        (fd, writeFD) = (fds[0], fds[1])
        // The write end is never closed: a handler may run at any time. The handler never blocks:
        // with the pipe full (64 KiB of unread signals) a byte is dropped.
        for number in signals {
            try Syscall.retrying("sigaction(\(number))") { hatchling_catch_signal_to_pipe(number, writeFD) }
        }
    }

    /// In a forked child: the handler writes to no descriptor any more (the pipe's number may be
    /// reused by the child). Here, in the file that installs the handler: the handler and its
    /// descriptor are static in the C header, so each Swift file that uses them has its own copy.
    public static func forgetInChild() {
        hatchling_forget_signal_pipe()
    }

    /// The next signal's number, or nil when none is waiting.
    public func next() -> Int32? {
        var byte: UInt8 = 0
        return Syscall.retryingRaw { Glibc.read(fd, &byte, 1) } == 1 ? Int32(byte) : nil
    }
}

/// A counter descriptor (eventfd) that other threads write to wake a thread that polls it, or
/// that a thread blocks on: the wake-up for work handed from one thread to another.
public final class WakeDescriptor: Sendable {
    public let fd: Int32

    /// `blocking`: `wait()` sleeps until a `wake()`; otherwise the descriptor is for `poll`.
    public init(blocking: Bool = false) throws(SystemError) {
        fd = try Syscall.retrying("eventfd") { eventfd(0, Int32(EFD_CLOEXEC) | (blocking ? 0 : Int32(EFD_NONBLOCK))) }
    }

    deinit { Syscall.close(fd) }

    /// Wakes the reader (once, however many wakes come before it reads).
    public func wake() {
        var one: UInt64 = 1
        _ = Syscall.retryingRaw { Glibc.write(fd, &one, 8) }
    }

    /// Clears the wake-ups so far (non-blocking descriptors), or sleeps until one comes (blocking).
    public func wait() {
        var count: UInt64 = 0
        _ = Syscall.retryingRaw { Glibc.read(fd, &count, 8) }
    }
}

/// `poll` on a few descriptors, retried on EINTR.
public enum Poll {
    /// Waits until one of `fds` is ready or `timeout` seconds passed (nil: forever); the
    /// descriptors' `revents` say which.
    public static func wait(_ fds: inout [pollfd], timeout: Double?) {
        let milliseconds: Int32 = timeout.map { Int32(max(0, min(Double(Int32.max), ($0 * 1000).rounded(.up)))) } ?? -1
        _ = fds.withUnsafeMutableBufferPointer { buffer in
            Syscall.retryingRaw { poll(buffer.baseAddress, nfds_t(buffer.count), milliseconds) }
        }
    }
}

/// A thread of its own that calls `handler` with each of `signals` (for programs whose main work
/// runs elsewhere: fleetctl's long-running views).
public final class SignalWatcher: Sendable {
    private let stopped: WakeDescriptor

    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        // Failing to make a pipe or a thread at start-up is not an environment to work around.
        do {
            stopped = try WakeDescriptor()
            let pipe = try SignalPipe(signals)
            let stopped = self.stopped
            precondition(
                Threads.spawn(named: "signals") {
                    var fds = [pollfd(fd: pipe.fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopped.fd, events: Int16(POLLIN), revents: 0)]
                    while true {
                        Poll.wait(&fds, timeout: nil)
                        if fds[1].revents != 0 { return }
                        while let number = pipe.next() { handler(number) }
                    }
                }, "cannot start the signal thread")
        } catch {
            preconditionFailure("cannot watch signals: \(error)")
        }
    }

    /// Stops calling the handler. Signals that come later are still caught, and dropped: never
    /// their default action, which would end the process in the middle of its shutdown.
    public func cancel() { stopped.wake() }
}

/// Hands a value that is used by one thread at a time to another thread.
public struct UncheckedBox<Value>: @unchecked Sendable {
    public var value: Value
    public init(_ value: Value) { self.value = value }
}
