import FleetProtocol

/// What running a command gave: its outcome and, for a reload that worked, the settings it applied
/// (the event loop puts them in force before the answer goes out).
public struct CommandResult: Sendable {
    public var outcome: CommandOutcome
    /// Boxed: a configuration held inline made every result a large value, copied and destroyed
    /// field by field at each step of answering even a `version-report` (3,000 instructions a
    /// command, callgrind).
    private let appliedBox: Applied?

    private final class Applied: Sendable {
        let configuration: AgentConfiguration
        init(_ configuration: AgentConfiguration) { self.configuration = configuration }
    }

    public var applied: AgentConfiguration? { appliedBox?.configuration }

    public init(_ outcome: CommandOutcome, applied: AgentConfiguration? = nil) {
        self.outcome = outcome
        self.appliedBox = applied.map(Applied.init)
    }
}

/// Runs one of the four commands. The production implementation is `CommandRunner`; unit tests
/// use fakes.
public protocol CommandRunning: Sendable {
    /// Whether running `command` may wait for I/O (a probe, a program, a file): such a command runs
    /// on the I/O worker, never on the event loop's thread. No side effects.
    func needsIO(_ command: FleetCommand) -> Bool
    /// Runs `command`, blocking the calling thread for as long as its I/O takes.
    func run(_ command: FleetCommand) -> CommandResult
}

/// The four commands, for real: each reads live figures; none takes a path, program or topic from the bus.
public struct CommandRunner: CommandRunning {
    public let context: AgentContext

    public init(context: AgentContext) {
        self.context = context
    }

    /// Everything but `status-report` and a `version-report` whose answer is known: `health-check`
    /// probes the gateway, a first `version-report` may run a program, and `config-reload` reads
    /// files (whatever is at their paths must never hold up the loop, its heartbeats and other
    /// commands).
    public func needsIO(_ command: FleetCommand) -> Bool {
        switch command {
        case .healthCheck, .configReload: true
        case .versionReport: context.versionFinder.cachedVersion(override: context.configuration(\.openclawVersion)) == nil
        case .statusReport: false
        }
    }

    public func run(_ command: FleetCommand) -> CommandResult {
        switch command {
        case .healthCheck:
            return CommandResult(.health(healthCheck()))
        case .versionReport:
            let (override, image) = context.configuration { ($0.openclawVersion, $0.imageVersion) }
            let openclaw = context.versionFinder.version(override: override)
            return CommandResult(.version(VersionReport(agent: AgentContext.agentVersion, openclaw: openclaw, image: image)))
        case .configReload:
            switch context.reload() {
            case .success(let reload): return CommandResult(.reload(reload.report), applied: reload.applied)
            case .failure(let body): return CommandResult(.failure(body))
            }
        case .statusReport:
            return CommandResult(.status(StatusReport(heartbeat: context.makeHeartbeat(advancing: false), counters: context.counters.snapshot)))
        }
    }

    /// Probes the gateway now (at most 2 s) and judges memory and disk.
    func healthCheck() -> HealthReport {
        let configuration = context.configuration
        let probe = context.gateway.probe(configuration.gatewayHealthURL)
        let snapshot = context.collector.collect(dataDirectory: configuration.dataDirectory)
        let connection = context.connection
        return context.evaluator(for: configuration).report(
            snapshot: snapshot, gateway: GatewayMonitor.section(for: probe), busConnected: connection.connected,
            protocolName: connection.protocolVersion.rawValue)
    }
}
