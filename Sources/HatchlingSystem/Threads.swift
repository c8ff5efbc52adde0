/// Threads of the agent's own: its event loop's helpers (the connector, the I/O worker) and the
/// hub's servers. Never Swift's cooperative pool for anything tied to a thread or that blocks.
public enum Threads {
    /// Names the calling thread (at most 15 bytes), for `top -H` and /proc/PID/task/*/comm; a
    /// thread would otherwise carry its creator's name. Through /proc: `pthread_setname_np` is not
    /// in Swift's view of glibc.
    public static func nameCurrent(_ name: String) {
        let fd = Syscall.retryingRaw { open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC) }
        guard fd >= 0 else { return }
        Syscall.writeAll(fd, Array(name.utf8.prefix(15)))
        Syscall.close(fd)
    }

    /// Runs `body` on a new, detached thread named `name` (at most 15 bytes); false when the
    /// thread could not be made.
    @discardableResult
    public static func spawn(named name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
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
                Threads.nameCurrent(box.name)
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
}
