import HatchlingSystem
import Synchronization

/// Turns SIGINT and SIGTERM into a flag that long-running subcommands check (watch, exporter,
/// audit), so they end cleanly: a summary printed, a socket closed, exit 0.
///
/// The signals are caught by HatchlingSystem's `SignalWatcher` (a `sigaction` handler in place
/// when `watching` returns, and a thread of its own that sets the flag), never their default
/// action, which would end the process before the flag is seen.
public final class StopSignal: Sendable {
    private final class Flag: Sendable {
        let state = Mutex<(stopped: Bool, signal: Int32?)>((false, nil))

        /// Sets the flag; the first signal is kept.
        func stop(signal: Int32?) { state.withLock { $0 = (true, $0.signal ?? signal) } }
    }

    private let flag: Flag
    private let watcher: SignalWatcher?

    /// A flag that only `stop()` sets (tests, a duration that ran out).
    public init() {
        flag = Flag()
        watcher = nil
    }

    private init(watching signals: [Int32]) {
        let flag = Flag()
        self.flag = flag
        watcher = SignalWatcher(signals: signals) { flag.stop(signal: $0) }
    }

    /// Watches `signals` (SIGINT and SIGTERM by default). One watching `StopSignal` per process:
    /// the signals go to one pipe (`SignalPipe`).
    public static func watching(_ signals: [Int32] = [SIGINT, SIGTERM]) -> StopSignal {
        StopSignal(watching: signals)
    }

    /// Sets the flag.
    public func stop(signal: Int32? = nil) {
        flag.stop(signal: signal)
    }

    /// True once a signal came or `stop()` was called.
    public var isStopped: Bool { flag.state.withLock { $0.stopped } }

    /// The signal that stopped us, if one did.
    public var signal: Int32? { flag.state.withLock { $0.signal } }

    deinit {
        watcher?.cancel()
    }
}
