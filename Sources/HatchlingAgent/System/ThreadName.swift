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
