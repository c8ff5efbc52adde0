#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Waits for a child process on a thread of its own (blocking `waitpid`), then calls back once
/// with its wait status. Reaping here is what keeps a dead worker from staying a zombie.
enum ChildWaiter {
    private final class Box {
        let pid: pid_t
        let done: @Sendable (Int32) -> Void
        init(pid: pid_t, done: @escaping @Sendable (Int32) -> Void) {
            self.pid = pid
            self.done = done
        }
    }

    static func wait(for pid: pid_t, then done: @escaping @Sendable (Int32) -> Void) {
        let box = Unmanaged.passRetained(Box(pid: pid, done: done)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(
            &thread, nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                var status: Int32 = 0
                while waitpid(box.pid, &status, 0) < 0 {
                    if errno != EINTR { status = 0x7f; break }  // not our child any more: report as lost
                }
                box.done(status)
                return nil
            }, box)
        precondition(code == 0, "pthread_create failed: \(code)")
        pthread_detach(thread)
    }
}
