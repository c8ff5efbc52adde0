import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Runs blocking work (the gateway probe) at once and then every `interval` seconds, on a thread
/// of its own, until stopped. Between runs the thread sleeps in one timed wait, so a run costs one
/// wake-up; on the cooperative pool the same probe took a timer thread, a task and a blocking-I/O
/// thread in turn. A run in progress when `stop` is called finishes; no run starts after it.
final class PeriodicThread: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)

    /// - Parameter name: the thread's name in `top -H` and /proc (at most 15 bytes).
    init(name: String, interval: Double, _ work: @escaping @Sendable () -> Void) {
        let body = Body(owner: self, interval: interval, work: work)
        // Failing to make a thread at start-up is not an environment the agent can work around.
        precondition(startThread(named: name) { body.run() }, "cannot start the \(name) thread")
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        wake.signal()
    }

    private final class Body: Sendable {
        let owner: PeriodicThread
        let interval: Double
        let work: @Sendable () -> Void

        init(owner: PeriodicThread, interval: Double, work: @escaping @Sendable () -> Void) {
            self.owner = owner
            self.interval = interval
            self.work = work
        }

        func run() {
            while !owner.stopped.load(ordering: .acquiring) {
                work()
                _ = owner.wake.wait(timeout: .now() + interval)
            }
        }
    }
}
