import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread that lives as long as the process and runs the supervisor's `posix_spawn` calls.
///
/// The worker sets PR_SET_PDEATHSIG, and Linux sends that signal when the *thread* that made the
/// child ends, not the process. The supervisor's loop runs on Swift's cooperative pool, whose
/// threads libdispatch retires when idle: a worker spawned there would get SIGTERM some seconds
/// later, with its supervisor alive. Spawned from this thread, it gets it only when the
/// supervisor process dies.
final class SpawnerThread: Sendable {
    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let wake = DispatchSemaphore(value: 0)

    init() {
        // The thread keeps this object for the life of the process: it never ends.
        precondition(startThread(named: "spawner") { [self] in serve() }, "cannot start the spawner thread")
    }

    /// Runs `work` on the spawner thread and returns its result; blocks the caller for as long as
    /// `work` takes (a `posix_spawn`, which returns once the child has exec'd).
    func run<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        let result = Mutex<T?>(nil)
        let done = DispatchSemaphore(value: 0)
        jobs.withLock {
            $0.append {
                let value = work()
                result.withLock { $0 = value }
                done.signal()
            }
        }
        wake.signal()
        done.wait()
        return result.withLock { $0! }
    }

    private func serve() {
        while true {
            wake.wait()
            let due = jobs.withLock { jobs in
                defer { jobs.removeAll() }
                return jobs
            }
            for job in due { job() }
        }
    }
}
