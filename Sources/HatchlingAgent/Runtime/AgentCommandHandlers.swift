import FleetProtocol

/// The four commands, for real: each reads live figures; none takes a path, program or topic from the bus.
public struct AgentCommandHandlers: CommandHandling {
    public let context: AgentContext

    public init(context: AgentContext) {
        self.context = context
    }

    public func run(_ command: FleetCommand) async -> CommandOutcome {
        switch command {
        case .healthCheck: return .health(await healthCheck())
        case .versionReport: return .version(await versionReport())
        case .configReload, .statusReport: return runImmediately(command)!
        }
    }

    /// Everything but `health-check` (a probe), a first `version-report` (may run a program) and
    /// `config-reload` (reads files: whatever is at their paths must never hold up the network
    /// thread, its heartbeats and other commands).
    public func canRunImmediately(_ command: FleetCommand) -> Bool {
        switch command {
        case .healthCheck, .configReload: false
        case .versionReport: context.versionFinder.cachedVersion(override: context.configuration(\.openclawVersion)) != nil
        case .statusReport: true
        }
    }

    public func runImmediately(_ command: FleetCommand) -> CommandOutcome? {
        switch command {
        case .healthCheck: return nil
        case .versionReport:
            let (override, image) = context.configuration { ($0.openclawVersion, $0.imageVersion) }
            guard let openclaw = context.versionFinder.cachedVersion(override: override) else { return nil }
            return .version(VersionReport(agent: AgentContext.agentVersion, openclaw: openclaw, image: image))
        case .configReload:
            switch context.reload() {
            case .success(let report): return .reload(report)
            case .failure(let body): return .failure(body)
            }
        case .statusReport:
            return .status(StatusReport(heartbeat: context.makeHeartbeat(advancing: false), counters: context.counters.snapshot))
        }
    }

    /// Probes the gateway now (at most 2 s) and judges memory and disk.
    func healthCheck() async -> HealthReport {
        let configuration = context.configuration
        let probe = await context.gateway.probe(configuration.gatewayHealthURL)
        let snapshot = context.collector.collect(dataDirectory: configuration.dataDirectory)
        let connection = context.connection
        return context.evaluator(for: configuration).report(
            snapshot: snapshot, gateway: GatewayMonitor.section(for: probe), busConnected: connection.connected,
            protocolName: connection.protocolVersion.rawValue)
    }

    func versionReport() async -> VersionReport {
        let configuration = context.configuration
        let openclaw = await context.versionFinder.version(override: configuration.openclawVersion)
        return VersionReport(agent: AgentContext.agentVersion, openclaw: openclaw, image: configuration.imageVersion)
    }
}
