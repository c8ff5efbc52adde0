import CSystem
import Dispatch
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Crash recovery without cron: `hatchling-agent run` is a small parent that starts the real agent
/// (the same binary, as a worker) and starts it again when it dies of anything but a shutdown.
///
/// The parent holds no connection and runs no command, so nothing in it can crash the way a
/// worker can; it forwards SIGTERM, SIGINT and SIGHUP, reaps its worker (no zombie, under tini
/// or not), and exits with the worker's status once a shutdown it forwarded has finished.
public final class ProcessSupervisor: Sendable {
    /// Set in the worker's environment; the worker runs the agent itself.
    public static let workerEnvironmentKey = "HATCHLING_AGENT_ROLE"
    public static let workerRole = "worker"
    /// Set in the worker's environment: the supervisor's pid, which the worker checks is its parent.
    public static let supervisorPIDKey = "HATCHLING_AGENT_SUPERVISOR_PID"

    /// Restart delays: doubling from `firstRestartDelay` up to `maxRestartDelay`; a worker that
    /// lived `stableSeconds` starts the sequence over.
    static let firstRestartDelay = 0.2
    static let maxRestartDelay = 5.0
    static let stableSeconds = 30.0
    /// A worker that does not exit this long after a forwarded SIGTERM is killed.
    static let shutdownGrace = 8.0

    private let executable: String
    private let arguments: [String]
    private let environment: [String: String]
    private let logger: Logger
    private let spawner = SpawnerThread()

    public init(executable: String, arguments: [String], environment: [String: String], logger: Logger) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.logger = logger
    }

    enum Event: Sendable {
        case signal(Int32)
        case exited(pid: pid_t, status: ExitStatus)
        case restartDue
        case forceKill(pid_t)
    }

    /// How a worker ended.
    public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        /// No status: `waitpid` failed (not our child any more), so how it ended is not known (`ChildWaiter`).
        case unknown

        /// From `waitpid`'s status; nil (no status) is `.unknown`.
        init(waitStatus: Int32?) {
            guard let waitStatus else {
                self = .unknown
                return
            }
            self = (waitStatus & 0x7f) == 0 ? .exited((waitStatus >> 8) & 0xff) : .signaled(waitStatus & 0x7f)
        }

        static let signalNames: [Int32: String] = [
            SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGILL: "SIGILL, a Swift trap",
            SIGTRAP: "SIGTRAP, a Swift trap", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGBUS: "SIGBUS",
        ]

        public var description: String {
            switch self {
            case .exited(let code): "exit status \(code)"
            case .signaled(let number): "signal \(number)\(Self.signalNames[number].map { " (\($0))" } ?? "")"
            case .unknown: "unknown (waitpid failed: not our child any more)"
            }
        }
    }

    /// Runs until a forwarded shutdown completes; returns the exit status for the process.
    public func run() async -> Int32 {
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { sink.yield(.signal($0)) }
        defer { signals.cancel() }

        var worker: (pid: pid_t, startedAt: Double)? = nil
        var delay = Self.firstRestartDelay
        var stopping: Int32? = nil
        var restarts = 0

        func start() {
            do {
                let pid = try spawner.run { Result { () throws(SupervisorError) in try self.spawnWorker() } }.get()
                worker = (pid, Monotonic.seconds())
                logger.info("worker started", metadata: ["worker.pid": "\(pid)", "worker.restarts": "\(restarts)"])
                ChildWaiter.wait(for: pid) { sink.yield(.exited(pid: pid, status: ExitStatus(waitStatus: $0))) }
            } catch {
                logger.error("cannot start the worker; retrying", metadata: ["error": "\(error)", "retry_in_s": "\(delay)"])
                schedule(after: delay)
            }
        }
        func schedule(after seconds: Double) {
            Task {
                try? await Task.sleep(for: .seconds(seconds))
                sink.yield(.restartDue)
            }
        }

        start()
        for await event in events {
            switch event {
            case .signal(let number):
                guard let current = worker else {
                    if number != SIGHUP { return 0 }
                    continue
                }
                if number != SIGHUP {
                    stopping = number
                    let pid = current.pid
                    Task {
                        try? await Task.sleep(for: .seconds(Self.shutdownGrace))
                        sink.yield(.forceKill(pid))
                    }
                }
                kill(current.pid, number)
            case .forceKill(let pid):
                if worker?.pid == pid {
                    logger.error("worker did not stop in time; killing it", metadata: ["worker.pid": "\(pid)"])
                    kill(pid, SIGKILL)
                }
            case .exited(let pid, let status):
                guard worker?.pid == pid else { continue }
                let lived = Monotonic.seconds() - (worker?.startedAt ?? 0)
                worker = nil
                if let stopping {
                    switch status {
                    case .exited(let code): return code
                    case .signaled(let number): return number == stopping ? 0 : 128 + number
                    case .unknown: return 1  // not known to have stopped cleanly
                    }
                }
                if status == .exited(2) {
                    logger.critical("worker stopped on a configuration error; not restarting")
                    return 2
                }
                if lived >= Self.stableSeconds { delay = Self.firstRestartDelay }
                restarts += 1
                logger.error(
                    "worker died; restarting", metadata: ["worker.pid": "\(pid)", "worker.end": "\(status)", "retry_in_s": "\(delay)"])
                schedule(after: delay)
                delay = min(delay * 2, Self.maxRestartDelay)
            case .restartDue:
                if stopping == nil, worker == nil { start() }
            }
        }
        return 0
    }

    /// This process's executable (`/proc/self/exe`), to start the worker from the same binary.
    public static func currentExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Ties a worker's life to its supervisor's: SIGTERM (a clean shutdown, `offline`/`shutdown`
    /// announced) when the supervisor dies, even of SIGKILL. Then checks that the supervisor is
    /// still the parent: one that died between the fork and the `prctl` would otherwise leave
    /// this worker running with nothing to stop it. Returns false when the worker must exit.
    ///
    /// The setting belongs to the calling *thread*: when a parent dies, the kernel looks at each
    /// thread of the child, and a thread that has ended takes its setting with it. Called from
    /// async code it would sit on a cooperative-pool thread, which libdispatch retires after a few
    /// idle seconds: a supervisor killed later then left its worker running (found by
    /// `TemplateTrustTests`, where the kill comes 10 s in). So it is set on a thread of its own
    /// that lives as long as the worker.
    public static func bindWorkerToSupervisor(_ environment: [String: String]) -> Bool {
        guard let expected = environment[supervisorPIDKey].flatMap({ pid_t($0) }) else { return false }
        guard ParentDeathThread.start(signal: SIGTERM) else { return false }
        return getppid() == expected
    }

    /// Whether this process is a worker started by a supervisor.
    public static func isWorker(_ environment: [String: String]) -> Bool {
        environment[workerEnvironmentKey] == workerRole
    }

    /// Starts the worker with a clean signal mask and default signal actions (the parent ignores
    /// SIGTERM, SIGINT and SIGHUP for its Dispatch sources, and ignored signals survive exec).
    func spawnWorker() throws(SupervisorError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        SpawnFileActions.addCloseFrom(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for number in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, number) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var childEnvironment = environment
        childEnvironment[Self.workerEnvironmentKey] = Self.workerRole
        childEnvironment[Self.supervisorPIDKey] = String(getpid())
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = childEnvironment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard code == 0 else { throw SupervisorError(code: code) }
        return pid
    }
}

public struct SupervisorError: Error, CustomStringConvertible {
    public var code: Int32
    public var description: String { "posix_spawn failed: \(String(cString: strerror(code)))" }
}
