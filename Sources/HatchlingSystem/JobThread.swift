import Synchronization

/// One named thread that runs jobs in the order they were handed over, at most `capacity` waiting:
/// work that blocks (a probe, a program, a file read, a TCP connect) kept off an event loop.
/// The thread sleeps on an eventfd between jobs: no timer, no wake-up while idle.
public final class JobThread: Sendable {
    private let shared: Shared
    public let capacity: Int

    private final class Shared: Sendable {
        let jobs = Mutex<Queue>(Queue())
        let wake: WakeDescriptor

        init() throws(SystemError) {
            wake = try WakeDescriptor(blocking: true)
        }

        func serve() {
            while true {
                let next = jobs.withLock { queue -> (job: (@Sendable () -> Void)?, stop: Bool) in
                    if queue.waiting.isEmpty { return (nil, queue.stopped) }
                    return (queue.waiting.removeFirst(), false)
                }
                if next.stop { return }
                if let job = next.job { job() } else { wake.wait() }
            }
        }
    }

    private struct Queue {
        var waiting: [@Sendable () -> Void] = []
        var stopped = false
    }

    /// Starts the thread. Failing to make one is not an environment the agent can work around.
    public init(name: String, capacity: Int) {
        self.capacity = capacity
        do { shared = try Shared() } catch { preconditionFailure("cannot start the \(name) thread: \(error)") }
        let shared = self.shared
        precondition(Threads.spawn(named: name) { shared.serve() }, "cannot start the \(name) thread")
    }

    deinit { stop() }

    /// Queues `job`; false (and nothing queued) when `capacity` jobs wait already or after `stop`.
    @discardableResult
    public func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let queued = shared.jobs.withLock { queue -> Bool in
            guard !queue.stopped, queue.waiting.count < capacity else { return false }
            queue.waiting.append(job)
            return true
        }
        if queued { shared.wake.wake() }
        return queued
    }

    /// Drops the jobs that have not started; the thread ends after the one that runs, if any.
    public func stop() {
        shared.jobs.withLock {
            $0.waiting.removeAll()
            $0.stopped = true
        }
        shared.wake.wake()
    }
}
