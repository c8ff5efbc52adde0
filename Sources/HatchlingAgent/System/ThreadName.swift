#if canImport(Glibc)
import Glibc
#endif

/// Names the calling thread (at most 15 bytes), for `top -H` and /proc/PID/task/*/comm; a thread
/// would otherwise carry its creator's name. Through /proc: `pthread_setname_np` is not in
/// Swift's view of glibc.
func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// Runs `body` on a new, detached thread named `name` (at most 15 bytes); false when the thread
/// could not be made. The agent's long-lived and blocking work (the signal pipe, the parent-death
/// request, the spawner, waitpid, the gateway probe) runs on threads of its own, never on Swift's
/// cooperative pool: libdispatch retires idle pool threads, and anything tied to a thread goes
/// with it.
@discardableResult
func startThread(named name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box: Sendable {
        let name: String
        let body: @Sendable () -> Void
        init(_ name: String, _ body: @escaping @Sendable () -> Void) { (self.name, self.body) = (name, body) }
    }
    let context = Unmanaged.passRetained(Box(name, body)).toOpaque()
    var thread = pthread_t()
    let code = pthread_create(
        &thread, nil,
        { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            nameCurrentThread(box.name)
            box.body()
            return nil
        }, context)
    guard code == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        return false
    }
    pthread_detach(thread)
    return true
}
