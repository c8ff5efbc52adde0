#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Waits for a child process on a thread of its own (blocking `waitpid`), then calls back once
/// with its wait status. Reaping here is what keeps a dead worker from staying a zombie.
enum ChildWaiter {
    /// `done` gets the wait status, or nil when `waitpid` failed (the process is not our child, or
    /// no longer: `ECHILD`): then there is no status at all, rather than a made-up one that would
    /// read as an exit or a signal.
    static func wait(for pid: pid_t, then done: @escaping @Sendable (Int32?) -> Void) {
        let started = startThread(named: "waitpid") {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 {
                if errno != EINTR {
                    done(nil)
                    return
                }
            }
            done(status)
        }
        precondition(started, "cannot start a thread to wait for the worker")
    }
}
