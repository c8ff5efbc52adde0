import CSystem

/// A child process that runs code of this one, without `exec`: the supervisor's worker.
///
/// The child shares every page the parent has (copy on write), so the two processes hold one copy
/// of what loading the program costs: the dynamic loader's relocations of the binary and of
/// libcrypto, the Swift runtime's caches. Started with `exec`, each process made its own (about a
/// megabyte of private pages each; docs/benchmarks.md). Only a single-threaded parent may use it:
/// after `fork` the child has one thread, and a lock another thread held would stay locked there.
/// The child also keeps the parent's stack canary, pointer guard and address layout: fork once,
/// not again and again for code that hostile input may crash (`ProcessSupervisor`).
public enum Fork {
    /// Forks; the child puts `signals` back to their default action, closes every descriptor above
    /// 2, unblocks all signals, runs `child` and exits with the status it returns (`exit`, so the
    /// child's own buffers are flushed). Returns the child's pid, in the parent.
    ///
    /// Signals are blocked across the `fork`, so no handler of the parent's runs in the child
    /// before its actions are reset; the parent's mask is put back afterwards.
    public static func run(defaulting signals: [Int32], _ child: () -> Int32) throws(SystemError) -> pid_t {
        // Nothing buffered in the parent may be written twice, once by each process.
        fflush(nil)
        var all = sigset_t()
        sigfillset(&all)
        var previous = sigset_t()
        pthread_sigmask(SIG_SETMASK, &all, &previous)
        let pid = fork()
        if pid == 0 {
            for number in signals { _ = hatchling_default_signal(number) }
            SignalPipe.forgetInChild()
            hatchling_close_from(3)
            var none = sigset_t()
            sigemptyset(&none)
            pthread_sigmask(SIG_SETMASK, &none, nil)
            exit(child())
        }
        let code = errno
        pthread_sigmask(SIG_SETMASK, &previous, nil)
        guard pid > 0 else { throw SystemError("fork", errno: code) }
        return pid
    }
}
