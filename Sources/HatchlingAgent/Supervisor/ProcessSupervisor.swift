import CSystem
import HatchlingSystem
import Logging

/// Crash recovery without cron: `hatchling-agent run` is a small parent that starts the real agent
/// (the worker) and starts it again when it dies of anything but a shutdown.
///
/// The parent holds no connection and runs no command, so nothing in it can crash the way a
/// worker can; it forwards SIGTERM, SIGINT and SIGHUP, reaps its worker (no zombie, under tini
/// or not), and exits with the worker's status once a shutdown it forwarded has finished.
///
/// The first worker is forked (`Fork`): it shares the parent's pages (the relocated binary and
/// libraries, the runtime's caches) instead of making its own copies, about 1.7 MiB of PSS for the
/// pair, and starts without loading the program again. The parent stays single-threaded, as a
/// fork needs. A worker started after a crash is a new program (`posix_spawn` of this binary, with
/// `HATCHLING_AGENT_ROLE=worker` in its environment): a fork would carry the parent's stack
/// canary, pointer guard and address layout into every worker, so that whoever can crash workers
/// could guess them one crash at a time; a new program draws its own, and reads the configuration
/// afresh.
public final class ProcessSupervisor {
    /// Set in an executed worker's environment; the worker runs the agent itself.
    public static let workerEnvironmentKey = "HATCHLING_AGENT_ROLE"
    public static let workerRole = "worker"
    /// Set in an executed worker's environment: the supervisor's pid, which the worker checks is
    /// its parent.
    public static let supervisorPIDKey = "HATCHLING_AGENT_SUPERVISOR_PID"

    /// The first worker's work, run in the forked child: given the supervisor's pid, the process's
    /// exit status.
    public typealias Worker = (_ supervisor: pid_t) -> Int32

    /// Restart delays: doubling from `firstRestartDelay` up to `maxRestartDelay`; a worker that
    /// lived `stableSeconds` starts the sequence over.
    static let firstRestartDelay = 0.2
    static let maxRestartDelay = 5.0
    static let stableSeconds = 30.0
    /// A worker that does not exit this long after a forwarded SIGTERM is killed.
    static let shutdownGrace = 8.0
    /// The signals the supervisor catches, and those a worker gets back at their default action
    /// (SIGPIPE too: the caller of the supervisor may have ignored it).
    static let caught = [SIGTERM, SIGINT, SIGHUP, SIGCHLD]
    static let defaultedInWorker = caught + [SIGPIPE]

    private let logger: Logger
    private let arguments: [String]
    private let environment: [String: String]
    private let worker: Worker

    /// - Parameters:
    ///   - arguments, environment: how to start a worker after a crash: this process's own
    ///     arguments (the first is the program's name, as it was started) and environment.
    ///   - worker: the first worker, forked.
    public init(arguments: [String], environment: [String: String], logger: Logger, worker: @escaping Worker) {
        self.arguments = arguments
        self.environment = environment
        self.logger = logger
        self.worker = worker
    }

    /// How a worker ended.
    public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        /// From the status `waitpid` reported for a child that ended (never a stopped one: the
        /// supervisor does not ask for those).
        init(waitStatus: Int32) {
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
            }
        }
    }

    /// Runs until a forwarded shutdown completes; returns the exit status for the process.
    ///
    /// One loop on the calling thread (the main thread, which lives as long as the process: the
    /// worker's parent-death signal is tied to the thread that spawned it). It sleeps in `poll` on
    /// the signal pipe, where SIGCHLD says a worker ended, with at most one timer (a restart, or
    /// the kill of a worker that does not stop).
    public func run() -> Int32 {
        let signals: SignalPipe
        do {
            signals = try SignalPipe(Self.caught)
        } catch {
            logger.critical("cannot watch signals", metadata: ["error": "\(error)"])
            return 1
        }
        var worker: (pid: pid_t, startedAt: Double)? = nil
        var delay = Self.firstRestartDelay
        var stopping: Int32? = nil
        var restarts = 0
        /// When the next worker starts (no worker), or when the stopping one is killed.
        var due = Double.infinity

        func start() {
            due = .infinity
            do {
                let pid = try restarts == 0 ? forkWorker() : spawnWorker()
                worker = (pid, Monotonic.seconds())
                logger.info("worker started", metadata: ["worker.pid": "\(pid)", "worker.restarts": "\(restarts)"])
            } catch {
                logger.error("cannot start the worker; retrying", metadata: ["error": "\(error)", "retry_in_s": "\(delay)"])
                due = Monotonic.seconds() + delay
                delay = min(delay * 2, Self.maxRestartDelay)
            }
        }

        /// What to do when the worker ended; a status to exit with, or nil to go on.
        func ended(_ pid: pid_t, _ status: ExitStatus) -> Int32? {
            guard worker?.pid == pid else { return nil }
            let lived = Monotonic.seconds() - (worker?.startedAt ?? 0)
            worker = nil
            due = .infinity
            if let stopping {
                switch status {
                case .exited(let code): return code
                case .signaled(let number): return number == stopping ? 0 : 128 + number
                }
            }
            if status == .exited(2) {
                logger.critical("worker stopped on a configuration error; not restarting")
                return 2
            }
            if lived >= Self.stableSeconds { delay = Self.firstRestartDelay }
            restarts += 1
            logger.error("worker died; restarting", metadata: ["worker.pid": "\(pid)", "worker.end": "\(status)", "retry_in_s": "\(delay)"])
            due = Monotonic.seconds() + delay
            delay = min(delay * 2, Self.maxRestartDelay)
            return nil
        }

        start()
        var fds = [pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)]
        while true {
            let now = Monotonic.seconds()
            if now >= due {
                if let current = worker, stopping != nil {
                    logger.error("worker did not stop in time; killing it", metadata: ["worker.pid": "\(current.pid)"])
                    kill(current.pid, SIGKILL)
                    due = .infinity
                } else if worker == nil, stopping == nil {
                    start()
                }
            }
            fds[0].revents = 0
            Poll.wait(&fds, timeout: due.isFinite ? max(0, due - Monotonic.seconds()) : nil)
            while let number = signals.next() {
                switch number {
                case SIGCHLD:
                    // Every child that ended (only workers are children of this process).
                    while true {
                        var status: Int32 = 0
                        let pid = Syscall.retryingRaw { waitpid(-1, &status, WNOHANG) }
                        guard pid > 0 else { break }
                        if let code = ended(pid, ExitStatus(waitStatus: status)) { return code }
                    }
                case SIGHUP:
                    if let current = worker { kill(current.pid, SIGHUP) }
                default:
                    guard let current = worker else { return 0 }
                    if stopping == nil {
                        stopping = number
                        due = Monotonic.seconds() + Self.shutdownGrace
                    }
                    kill(current.pid, number)
                }
            }
        }
    }

    /// Ties a worker's life to its supervisor's: SIGTERM (a clean shutdown, `offline`/`shutdown`
    /// announced) when the supervisor dies, even of SIGKILL. Then checks that the supervisor is
    /// still the parent: one that died between the fork and the `prctl` would otherwise leave
    /// this worker running with nothing to stop it. Returns false when the worker must exit.
    ///
    /// The setting belongs to the calling *thread*, and the death it watches is that of the parent
    /// thread that forked: the supervisor forks (and spawns) from its main thread, which lives as
    /// long as it does, and the worker calls this from its main thread, which runs the event loop
    /// and lives as long as the worker. (A thread that ends takes its setting with it: set on a
    /// thread that libdispatch retired after a few idle seconds, a supervisor killed later left
    /// its worker running; found by `TemplateTrustTests`.)
    public static func bindWorkerToSupervisor(_ supervisor: pid_t) -> Bool {
        guard hatchling_set_parent_death_signal(SIGTERM) == 0 else { return false }
        return isSupervised(parent: getppid(), supervisor: supervisor)
    }

    /// The same, for a worker started after a crash: the supervisor's pid from its environment.
    public static func bindWorkerToSupervisor(_ environment: [String: String]) -> Bool {
        guard let expected = environment[supervisorPIDKey].flatMap({ pid_t($0) }) else { return false }
        return bindWorkerToSupervisor(expected)
    }

    /// Whether a worker whose parent is `parent` is still the child of `supervisor` (a parent that
    /// died is replaced by tini, by init or by a subreaper). A supervisor that is PID 1 (a
    /// container without an init) cannot die and leave its worker behind: the kernel ends the
    /// whole PID namespace with it.
    static func isSupervised(parent: pid_t, supervisor: pid_t) -> Bool {
        parent == supervisor
    }

    /// Whether this process is a worker that a supervisor started after a crash.
    public static func isWorker(_ environment: [String: String]) -> Bool {
        environment[workerEnvironmentKey] == workerRole
    }

    /// Forks the first worker (`Fork`): default signal actions, no descriptor but 0-2, a clear mask.
    func forkWorker() throws(SystemError) -> pid_t {
        let supervisor = getpid()
        return try Fork.run(defaulting: Self.defaultedInWorker) { worker(supervisor) }
    }

    /// Starts a worker after a crash as a new program (this binary again), with a clean signal mask
    /// and default signal actions (ignored signals survive exec) and no descriptor but 0-2.
    func spawnWorker() throws(SystemError) -> pid_t {
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
        for number in Self.defaultedInWorker { sigaddset(&defaults, number) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var childEnvironment = environment
        childEnvironment[Self.workerEnvironmentKey] = Self.workerRole
        childEnvironment[Self.supervisorPIDKey] = String(getpid())
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = childEnvironment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        // The running program's own file, even if its path now names another (an upgrade) or
        // nothing (removed): the kernel keeps it as /proc/self/exe.
        let code = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, argv, envp)
        guard code == 0 else { throw SystemError("posix_spawn(/proc/self/exe)", errno: code) }
        return pid
    }
}
