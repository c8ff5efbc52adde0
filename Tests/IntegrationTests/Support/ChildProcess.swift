import Foundation
import HatchlingSystem
import Synchronization

/// A child process started with `posix_spawn`, a clean signal mask and default signal actions.
///
/// Foundation's `Process` spawns from whatever thread calls it; Swift's and Dispatch's worker
/// threads block SIGTERM and friends, and the child inherits that mask. mosquitto then never sees
/// SIGTERM (it waits in `epoll_pwait` with its original mask). This helper resets both.
/// A thread blocks in `waitpid`, so exits are awaited as events, not polled.
final class ChildProcess: Sendable {
    let pid: pid_t
    private let shared = Shared()

    private final class Shared: Sendable {
        let state = Mutex<(status: Int32?, waiters: [UUID: CheckedContinuation<Void, Never>])>((nil, [:]))
    }

    /// Standard output and standard error go to `outputPath`, or standard error to `errorPath` when given.
    init(executable: String, arguments: [String], environment: [String: String], outputPath: String, errorPath: String? = nil) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        if let errorPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        // Other tests' open files (a script being written) must not leak into long-lived children:
        // a leaked write descriptor makes exec of that script fail with ETXTBSY.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") {
            typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard code == 0 else { throw TestError("cannot start \(executable): \(String(cString: strerror(code)))") }
        self.pid = pid
        let shared = self.shared
        let child = pid
        Thread.detachNewThread {
            var status: Int32 = 0
            _ = Syscall.retryingRaw { waitpid(child, &status, 0) }
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            let waiters = shared.state.withLock { state in
                state.status = code
                defer { state.waiters = [:] }
                return state.waiters
            }
            waiters.values.forEach { $0.resume() }
        }
    }

    /// The exit status (128 + signal for a killed process), or nil while it runs.
    var exitStatus: Int32? { shared.state.withLock { $0.status } }
    var isRunning: Bool { exitStatus == nil }

    func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    /// Waits for the exit, at most `seconds`; returns the status, or nil if it still runs.
    func waitForExit(seconds: Double) async -> Int32? {
        let id = UUID()
        let shared = self.shared
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = shared.state.withLock { state -> Bool in
                if state.status != nil { return true }
                state.waiters[id] = continuation
                return false
            }
            if done {
                continuation.resume()
                return
            }
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                shared.state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
        return exitStatus
    }

    /// Sends `signal`, waits `grace` seconds, then SIGKILL; always reaped.
    @discardableResult
    func terminate(signal number: Int32 = SIGTERM, grace: Double = 10) async -> Int32? {
        guard isRunning else { return exitStatus }
        signal(number)
        if let status = await waitForExit(seconds: grace) { return status }
        signal(SIGKILL)
        _ = await waitForExit(seconds: 30)
        return nil
    }
}
