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
        let job: @Sendable () -> Void = {
            let code = hatchling_set_parent_death_signal(signal)
            result.withLock { $0 = code }
            done.signal()
        }
        let context = Unmanaged.passRetained(Box(job)).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                nameCurrentThread("parent-death")
                box.job()
                // Never returns: the request ends with this thread. It blocks every signal (the mask
                // of the pool thread that made it), so pause() does not return either.
                while true { pause() }
            }, context)
        guard created == 0 else { return false }
        pthread_detach(thread)
        done.wait()
        return result.withLock { $0 } == 0
    }

    private final class Box: Sendable {
        let job: @Sendable () -> Void
        init(_ job: @escaping @Sendable () -> Void) { self.job = job }
    }
}
