import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT and SIGTERM into a flag that long-running subcommands check (watch, exporter,
/// audit), so they end cleanly: a summary printed, a socket closed, exit 0.
///
/// The Dispatch sources are made here, in a nonisolated function with `@Sendable` handlers:
/// made inside an async `main`, the closures would inherit MainActor isolation and trap on the
/// first signal. They are kept alive by this object; a freed source silently ignores signals.
public final class StopSignal: @unchecked Sendable {
    // @unchecked Sendable: `sources` is set once in init and never changed; `state` is a Mutex.
    private var sources: [any DispatchSourceSignal] = []
    private let state = Mutex<(stopped: Bool, signal: Int32?)>((false, nil))

    /// A flag that only `stop()` sets (tests, a duration that ran out).
    public init() {}

    /// Watches `signals` (SIGINT and SIGTERM by default).
    public static func watching(_ signals: [Int32] = [SIGINT, SIGTERM]) -> StopSignal {
        let stop = StopSignal()
        let queue = DispatchQueue(label: "fleetctl.signals")
        stop.sources = signals.map { number in
            Glibc.signal(number, SIG_IGN)  // the default action would end the process before the source sees it
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { [weak stop] in stop?.stop(signal: number) }
            source.resume()
            return source
        }
        return stop
    }

    /// Sets the flag.
    public func stop(signal: Int32? = nil) {
        state.withLock { $0 = (true, $0.signal ?? signal) }
    }

    /// True once a signal came or `stop()` was called.
    public var isStopped: Bool { state.withLock { $0.stopped } }

    /// The signal that stopped us, if one did.
    public var signal: Int32? { state.withLock { $0.signal } }

    deinit {
        sources.forEach { $0.cancel() }
    }
}
