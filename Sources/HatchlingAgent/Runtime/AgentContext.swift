import FleetProtocol
import HatchlingMetrics
import HatchlingSystem
import Logging
import MosquittoClient
import Synchronization

/// What every part of a running agent shares: the settings in force, the connection's state, the
/// counters and the collectors. Nothing here starts work; the runtime drives it.
public final class AgentContext: Sendable {
    /// The agent's version, reported in heartbeats, status and `version-report`.
    public static let agentVersion = "1.0.0"

    public let bootId: String
    public let startedAt: Double
    public let loader: ConfigurationLoader
    public let collector: MetricsCollector
    public let counters = CounterStore()
    public let gateway = GatewayMonitor()
    public let versionFinder: GatewayVersionFinder
    public let logLevel: SharedLogLevel
    private let state: Mutex<State>
    /// Held through a whole reload (read, compare, store), so that two reloads cannot interleave.
    private let reloading = Mutex<Void>(())

    struct State {
        var configuration: AgentConfiguration
        var fileSHA256: String?
        var connected = false
        var protocolVersion: MQTTProtocolVersion
        var seq: UInt64 = 0
        var eventSeq: UInt64 = 0
        /// When the last heartbeat was handed to the client (monotonic seconds), for `health`.
        var lastHeartbeatAt: Double? = nil
    }

    public init(
        loaded: ConfigurationLoader.Loaded, loader: ConfigurationLoader, logLevel: SharedLogLevel,
        systemRoot: String = "/", versionFinder: GatewayVersionFinder = GatewayVersionFinder()
    ) {
        self.bootId = AgentContext.makeBootId()
        self.startedAt = Monotonic.seconds()
        self.loader = loader
        self.logLevel = logLevel
        self.versionFinder = versionFinder
        self.collector = MetricsCollector(root: systemRoot, dataDirectory: loaded.configuration.dataDirectory)
        self.state = Mutex(
            State(
                configuration: loaded.configuration, fileSHA256: loaded.fileSHA256,
                protocolVersion: loaded.configuration.protocolChoice == .v311 ? .v311 : .v5))
    }

    public var configuration: AgentConfiguration { state.withLock { $0.configuration } }

    /// One value read from the configuration in force, without copying all of it (the hot path of
    /// a command: a copy retains and releases every string the configuration holds).
    public func configuration<T>(_ read: (AgentConfiguration) -> T) -> T { state.withLock { read($0.configuration) } }

    /// Whether the bus connection is up, and with which protocol version.
    public func setConnection(connected: Bool, protocolVersion: MQTTProtocolVersion) {
        state.withLock {
            $0.connected = connected
            $0.protocolVersion = protocolVersion
        }
    }

    public var connection: (connected: Bool, protocolVersion: MQTTProtocolVersion) {
        state.withLock { ($0.connected, $0.protocolVersion) }
    }

    /// The next event's `seq`: 1 for this run's first.
    public func nextEventSeq() -> UInt64 {
        state.withLock {
            $0.eventSeq += 1
            return $0.eventSeq
        }
    }

    /// Gives `seq` back when its event could not be queued, if no later event took a number since.
    public func returnEventSeq(_ seq: UInt64) {
        state.withLock { if $0.eventSeq == seq { $0.eventSeq -= 1 } }
    }

    /// Notes that a heartbeat went out now.
    public func heartbeatPublished() {
        let now = Monotonic.seconds()
        state.withLock { $0.lastHeartbeatAt = now }
    }

    /// Seconds since the last heartbeat went out, or nil before the first.
    public var heartbeatAge: Double? {
        state.withLock { $0.lastHeartbeatAt }.map { Monotonic.seconds() - $0 }
    }

    /// A fresh heartbeat. `advancing` moves `seq` on (the timer does; `status-report` does not).
    public func makeHeartbeat(advancing: Bool = true) -> Heartbeat {
        let (configuration, seq, connected, version) = state.withLock { s in
            if advancing { s.seq += 1 }
            return (s.configuration, s.seq, s.connected, s.protocolVersion)
        }
        let snapshot = collector.collect(dataDirectory: configuration.dataDirectory)
        let gatewaySection = GatewayMonitor.section(for: gateway.lastResult, withAge: true)
        let report = evaluator(for: configuration).report(
            snapshot: snapshot, gateway: gatewaySection, busConnected: connected, protocolName: version.rawValue)
        return TelemetryBuilder(agentVersion: Self.agentVersion).heartbeat(
            name: configuration.name, bootId: bootId, seq: seq, ts: .now(), intervalS: configuration.heartbeatInterval,
            snapshot: snapshot, agentUptime: Monotonic.seconds() - startedAt, gateway: gatewaySection, health: report.status)
    }

    /// The health rules with the thresholds in force.
    public func evaluator(for configuration: AgentConfiguration) -> HealthEvaluator {
        var evaluator = HealthEvaluator()
        evaluator.memoryDegradedPercent = configuration.memoryDegradedPercent
        evaluator.diskDegradedFreePercent = configuration.diskDegradedFreePercent
        return evaluator
    }

    /// What a reload did: the report for the hub, and the settings now in force, which the event
    /// loop hands to the dispatcher and the timers before the answer goes out.
    public struct Reload: Sendable {
        public var report: ReloadReport
        public var applied: AgentConfiguration
    }

    /// Re-reads the configuration file (blocking: on the I/O worker) and stores what may change
    /// while running. An invalid file changes nothing. Settings that need a restart are reported
    /// and left as they were.
    public func reload() -> Result<Reload, FleetErrorBody> {
        reloading.withLock { _ in reloadHoldingLock() }
    }

    private func reloadHoldingLock() -> Result<Reload, FleetErrorBody> {
        let current = configuration
        guard current.configFile != nil else {
            counters.update { $0.reloadFailures += 1 }
            return .failure(
                FleetErrorBody(code: .reloadFailed, message: "HATCHLING_AGENT_CONFIG is not set: there is no configuration file to reload"))
        }
        let loaded: ConfigurationLoader.Loaded
        do {
            loaded = try loader.load()
        } catch {
            // The bus (status-report's last_error, the answer) gets the public description: the
            // variable, the rule and the line number, never the file's path or text.
            counters.update {
                $0.reloadFailures += 1
                $0.lastError = "reload failed: \(error.publicDescription)"
            }
            return .failure(FleetErrorBody(code: .reloadFailed, message: "\(error.publicDescription); the previous settings stay in force"))
        }
        // Signing, once on, stays on until a restart: a reload may rotate the key, never remove it
        // (a configuration file that someone emptied must not open the agent to unsigned commands).
        if current.commandKey != nil, loaded.configuration.commandKey == nil {
            let message =
                "FLEET_COMMAND_KEY_FILE is unset by the new configuration: signing cannot be turned off by a reload "
                + "(rotate the key instead, or restart the agent); the previous settings stay in force"
            counters.update {
                $0.reloadFailures += 1
                $0.lastError = "reload failed: signing cannot be turned off by a reload"
            }
            return .failure(FleetErrorBody(code: .reloadFailed, message: message))
        }
        let changed = loaded.configuration.changedSettings(comparedTo: current)
        let applied = current.applyingLiveSettings(from: loaded.configuration)
        state.withLock {
            $0.configuration = applied
            $0.fileSHA256 = loaded.fileSHA256
        }
        logLevel.value = applied.logLevel
        counters.update { $0.reloads += 1 }
        let report = ReloadReport(
            changed: changed.map(\.rawValue), restartRequired: changed.filter(\.requiresRestart).map(\.rawValue),
            configSha256: loaded.fileSHA256 ?? "")
        return .success(Reload(report: report, applied: applied))
    }

    /// 16 random bytes as hex: new at every process start.
    static func makeBootId() -> String {
        var generator = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }
}
