import ArgumentParser
import FleetProtocol
import HatchlingAgent
import HatchlingSystem
import Logging

/// The entry point. Not an `async` main: Swift runs that through `dispatch_main`, which ends the
/// main thread with `pthread_exit`, and glibc then unwinds the thread's stack, looking its frames
/// up in the binary's unwind tables: 1.5 MiB of `.eh_frame` pages resident in every agent, for
/// nothing (measured with /proc/PID/pagemap, docs/benchmarks.md). And no Swift concurrency at all:
/// the agent's event loop and the supervisor's run on the main thread, and the cooperative pool's
/// libdispatch monitor would wake every second for the life of the process.
@main
enum HatchlingAgentMain {
    static func main() {
        let parsed: ParsedCommand
        do {
            parsed = ParsedCommand(command: try HatchlingAgentCommand.parseAsRoot())
        } catch {
            // `publish` and `health` are run by scripts that tell a usage error (2) from a refusal
            // (1) and an absent agent (3); ArgumentParser's own code for a usage error is 64.
            if ["publish", "health"].contains(CommandLine.arguments.dropFirst().first ?? ""),
                HatchlingAgentCommand.exitCode(for: error) != .success
            {
                printError(HatchlingAgentCommand.fullMessage(for: error))
                HatchlingAgentCommand.exit(withError: ExitCode(2))
            }
            HatchlingAgentCommand.exit(withError: error)
        }
        var command = parsed.command
        do {
            try command.run()
        } catch {
            HatchlingAgentCommand.exit(withError: error)
        }
        HatchlingAgentCommand.exit()
    }
}

/// The parsed command.
struct ParsedCommand {
    var command: any ParsableCommand
}

struct HatchlingAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hatchling-agent",
        abstract: "The fleet sidecar: answers the hub's commands and publishes a retained heartbeat over MQTT.",
        discussion: """
            Runs next to an OpenClaw gateway in a hatchling container. It connects to the fleet's mosquitto broker (persistent session, QoS 1), subscribes to <root>/<name>/command and the broadcast topic, answers health-check, version-report, config-reload and status-report on <root>/<name>/response, and keeps <root>/<name>/status (online/offline) and <root>/<name>/heartbeat up to date.

            Try it against a local broker:
              HATCHLING_NAME=mason MQTT_HOST=127.0.0.1 hatchling-agent
              mosquitto_pub -h 127.0.0.1 -t fleet/mason/command -m health-check
              mosquitto_sub -h 127.0.0.1 -t 'fleet/mason/#' -v

            \(AgentCLI.settingsHelp)
            """,
        version: AgentContext.agentVersion,
        subcommands: [Run.self, Publish.self, Health.self, Metrics.self, CheckConfig.self],
        defaultSubcommand: Run.self
    )
}

/// Prints one line on standard error (the global `stderr` is not concurrency-safe in Swift 6).
func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent until SIGTERM or SIGINT (the default subcommand).",
        discussion: """
            By default this process is a small supervisor: it runs the agent in a worker (a fork of itself; after a crash, the same binary started again) and starts another within a second or so if it dies of anything but a shutdown (a crash, SIGKILL, a trap), with a backoff of up to 5 s. It forwards SIGTERM, SIGINT and SIGHUP to the worker and reaps it: no cron job, no zombie. --no-supervisor runs the agent in this process.

            \(AgentCLI.settingsHelp)
            """)

    @Flag(help: "Run the agent in this process, without the restarting supervisor.")
    var noSupervisor = false

    func run() throws {
        let environment = ProcessEnvironment.current()
        let loader: ConfigurationLoader
        let loaded: ConfigurationLoader.Loaded
        switch AgentCLI.loadConfiguration(environment: environment) {
        case .success(let result): (loader, loaded) = result
        case .failure(let error):
            printError("hatchling-agent: configuration error: \(error)")
            throw ExitCode(2)
        }
        let level = SharedLogLevel(loaded.configuration.logLevel)
        let format = loaded.configuration.logFormat
        LoggingSystem.bootstrap { AgentLogHandler(label: $0, level: level, format: format) }

        if noSupervisor {
            let status = Self.runAgent(loader: loader, loaded: loaded, level: level)
            if status != 0 { throw ExitCode(status) }
            return
        }
        // A worker: bound to its supervisor (PR_SET_PDEATHSIG, then the parent check), then the agent.
        let runWorker = { (bound: Bool) -> Int32 in
            guard bound else {
                Logger(label: "hatchling-agent").error(
                    "the supervisor that started this worker is gone; exiting rather than running unsupervised")
                return 1
            }
            return Self.runAgent(loader: loader, loaded: loaded, level: level)
        }
        if ProcessSupervisor.isWorker(environment) {
            // Started again by its supervisor after a crash, as a new program.
            let status = runWorker(ProcessSupervisor.bindWorkerToSupervisor(environment))
            if status != 0 { throw ExitCode(status) }
            return
        }
        // The first worker is forked: it runs on the settings this process has just read.
        let supervisor = ProcessSupervisor(
            arguments: CommandLine.arguments, environment: environment, logger: Logger(label: "hatchling-agent.supervisor")
        ) { supervisorPID in runWorker(ProcessSupervisor.bindWorkerToSupervisor(supervisorPID)) }
        let status = supervisor.run()
        if status != 0 { throw ExitCode(status) }
    }

    /// The agent itself, in this process: its exit status.
    static func runAgent(loader: ConfigurationLoader, loaded: ConfigurationLoader.Loaded, level: SharedLogLevel) -> Int32 {
        let logger = Logger(label: "hatchling-agent")
        let context = AgentContext(loaded: loaded, loader: loader, logLevel: level)
        do {
            return try AgentRuntime(context: context, logger: logger).run()
        } catch {
            logger.critical("hatchling-agent cannot run", metadata: ["error": "\(error)"])
            return 1
        }
    }
}

struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print one snapshot of every heartbeat section as JSON. Needs no broker and no HATCHLING_NAME.")

    @Option(help: "Directory that stands for / when reading /proc and /sys (for fixture trees).")
    var root = "/"

    @Option(help: "Data directory for the disk figures (default: HATCHLING_DATA_DIR, else /home/openclaw/.openclaw).")
    var dataDir: String?

    @Option(help: "Gateway health URL to probe (default: GATEWAY_HEALTH_URL, else http://127.0.0.1:18789/health).")
    var gatewayURL: String?

    @Option(help: "Seconds between the two samples that CPU percentages are computed from.")
    var sample = 0.25

    func run() throws {
        let environment = ProcessEnvironment.current()
        let urlText = gatewayURL ?? environment["GATEWAY_HEALTH_URL"] ?? "http://127.0.0.1:18789/health"
        guard let url = HTTPURL(urlText) else {
            printError("hatchling-agent: configuration error: GATEWAY_HEALTH_URL must be an http://host[:port]/path URL")
            throw ExitCode(2)
        }
        let output = AgentCLI.metricsSnapshot(
            root: root, dataDirectory: dataDir ?? environment["HATCHLING_DATA_DIR"] ?? "/home/openclaw/.openclaw",
            gatewayURL: url, sampleSeconds: sample)
        print(try FleetJSON.encodePretty(output))
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the settings and print the effective values (secrets as ***); exit 2 on error.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        switch AgentCLI.loadConfiguration(environment: ProcessEnvironment.current()) {
        case .failure(let error):
            printError("hatchling-agent: configuration error: \(error)")
            throw ExitCode(2)
        case .success(let (_, loaded)):
            for warning in loaded.configuration.warnings { printError("hatchling-agent: warning: \(warning)") }
            print(json ? try AgentCLI.describeJSON(loaded.configuration) : AgentCLI.describe(loaded.configuration))
            if let digest = loaded.fileSHA256, !json { print("config_sha256".padding(toLength: 24) + digest) }
        }
    }
}

/// The running agent's local socket: HATCHLING_AGENT_SOCKET from the environment, else the default.
func agentSocketPath() -> String {
    ProcessEnvironment.current()["HATCHLING_AGENT_SOCKET"].flatMap { $0.isEmpty ? nil : $0 } ?? LocalProtocol.defaultSocket
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send an event to the hub through the running agent (the replacement for bus-publish).",
        discussion: """
            For the gateway and its scripts: the running agent checks the event and publishes it on <root>/<name>/event (QoS 1, not retained) as {"v":1,"event":...,"data":{...},"ts":...,"boot_id":...,"seq":...}. This command needs no broker credentials: it talks to the agent over its local socket (HATCHLING_AGENT_SOCKET, default /run/hatchling-agent/agent.sock).

            The agent refuses: a name that is not 1-64 of a-z 0-9 - (bad-name); data over 2048 bytes (too-large), nested over 32 levels, with a key twice, or with control, bidirectional or invisible characters (bad-data); data or a name holding the agent's own bus password or command key (in any case, hex or base64), something shaped like a credential (sk-..., xoxb-..., ghp_..., AKIA..., a PEM block) or a long random-looking string (secret); more than EVENT_RATE_LIMIT events a minute, bursts of 10 (rate-limited). Nothing refused reaches the bus. Events are operational telemetry only: never personal data, file contents or secrets (ADR-005).

            Exit status: 0 the broker acknowledged the event (within 5 s); 1 the agent refused it (the reason on standard error; only a rate-limited event may go out if sent again, a minute later); 2 usage error (--data is not one JSON object); 3 no agent, the agent is not connected to the broker or busy, or the broker did not acknowledge in time (try again later).

            Examples:
              hatchling-agent publish task-done --data '{"task":"nightly-backup","duration_s":42}'
              hatchling-agent publish needs-operator
            """)

    @Argument(help: "The event's name: 1-64 of a-z 0-9 -.")
    var event: String

    @Option(help: "The event's data: one JSON object of at most 2048 bytes.")
    var data: String = "{}"

    @Flag(help: "Print the agent's answer as JSON on standard output.")
    var json = false

    func run() throws {
        // The data goes into the request as it is, so it must be one JSON object (on one line: a
        // newline can only be whitespace between a valid object's tokens).
        let bytes = Array(data.utf8).map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
        if bytes.count > EventPayload.maximumDataBytes * 16 {
            printError("hatchling-agent publish: refused (too-large): the data is \(bytes.count) bytes; at most \(EventPayload.maximumDataBytes)")
            throw ExitCode(LocalClient.ExitStatus.refused)
        }
        guard JSONScan.strings(bytes[...]) != nil else {
            printError("hatchling-agent publish: --data must be one JSON object, such as '{\"task\":\"backup\"}'")
            throw ExitCode(LocalClient.ExitStatus.usage)
        }
        let answer: LocalProtocol.Answer
        switch LocalClient.ask(.publish(event: event, data: bytes), socket: agentSocketPath(), within: 6.5) {
        case .failure(let failure):
            printError("hatchling-agent publish: \(failure)")
            throw ExitCode(LocalClient.ExitStatus.unavailable)
        case .success(let received): answer = received
        }
        if json { print(String(decoding: LocalProtocol.encode(answer).dropLast(), as: UTF8.self)) }
        switch answer {
        case .published:
            return
        case .failed(let failure):
            printError(
                "hatchling-agent publish: \(failure.code.isRefusal ? "refused" : "not published") (\(failure.code.rawValue)): \(failure.message)")
            throw ExitCode(failure.code.isRefusal ? LocalClient.ExitStatus.refused : LocalClient.ExitStatus.unavailable)
        case .health:
            printError("hatchling-agent publish: the agent answered something else")
            throw ExitCode(LocalClient.ExitStatus.unavailable)
        }
    }
}

struct Health: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the running agent whether it is connected and heartbeating (for HEALTHCHECK).",
        discussion: """
            Asks the agent over its local socket (HATCHLING_AGENT_SOCKET, default /run/hatchling-agent/agent.sock) and answers within 2 s.

            Exit status: 0 connected to the broker and a heartbeat went out within two intervals; 1 the agent runs but is not connected, or its heartbeat is late (one line on standard error says which); 3 no agent answers.
            """)

    @Flag(help: "Print the agent's answer as JSON on standard output.")
    var json = false

    func run() throws {
        switch LocalClient.ask(.health, socket: agentSocketPath(), within: 2) {
        case .failure(let failure):
            printError("hatchling-agent health: \(failure)")
            throw ExitCode(LocalClient.ExitStatus.unavailable)
        case .success(let answer):
            if json { print(String(decoding: LocalProtocol.encode(answer).dropLast(), as: UTF8.self)) }
            guard case .health(let health) = answer else {
                if case .failed(let failure) = answer {
                    printError("hatchling-agent health: no answer (\(failure.code.rawValue)): \(failure.message)")
                } else {
                    printError("hatchling-agent health: the agent answered something else")
                }
                throw ExitCode(LocalClient.ExitStatus.unavailable)
            }
            if health.isHealthy {
                if !json { print(health.summary) }
            } else {
                printError("hatchling-agent health: \(health.summary)")
                throw ExitCode(1)
            }
        }
    }
}

extension String {
    func padding(toLength width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
