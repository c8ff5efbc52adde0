import CSystem
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A thread that asks the kernel for `signal` when this process's parent dies, then waits for as
/// long as the process lives, so that the request (which Linux keeps per thread) lives too.
enum ParentDeathThread {
    /// Starts the thread and waits until it has made the request; false when `prctl` refused.
    static func start(signal: Int32) -> Bool {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Int32>(-1)
        let started = startThread(named: "parent-death") {
            let code = hatchling_set_parent_death_signal(signal)
            result.withLock { $0 = code }
            done.signal()
            // Never returns: the request ends with this thread. It blocks every signal (the mask
            // of the pool thread that made it), so pause() does not return either.
            while true { pause() }
        }
        guard started else { return false }
        done.wait()
        return result.withLock { $0 } == 0
    }
}
