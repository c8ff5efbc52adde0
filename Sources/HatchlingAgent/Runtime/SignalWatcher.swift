import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Turns SIGTERM, SIGINT and SIGHUP into calls of `handler`, on a Dispatch queue.
///
/// The sources are created here, in a nonisolated function with a `@Sendable` closure: made inside
/// an async `main`, the closure would inherit MainActor isolation and trap on the first signal.
/// The watcher keeps its sources alive until `cancel()`; a freed source silently ignores signals.
public final class SignalWatcher: @unchecked Sendable {
    // @unchecked Sendable: `sources` is set once in init and never mutated; DispatchSource's
    // cancel() is thread-safe.
    private let sources: [any DispatchSourceSignal]

    public init(signals: [Int32], handler: @escaping @Sendable (Int32) -> Void) {
        let queue = DispatchQueue(label: "hatchling-agent.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)  // the default action would end the process before the source sees it
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    public func cancel() {
        sources.forEach { $0.cancel() }
    }
}
