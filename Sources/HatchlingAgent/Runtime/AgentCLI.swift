import FleetProtocol
import HatchlingMetrics
import HatchlingSystem
import Logging

/// What the executable's subcommands do, kept here so tests reach it: `main` only parses flags.
public enum AgentCLI {
    /// Text for `--help`: every setting, its default and what it does.
    public static var settingsHelp: String {
        // Every line is kept under 80 columns here: ArgumentParser wraps longer lines without indenting.
        var lines = wrap("SETTINGS (environment variables; the file named by HATCHLING_AGENT_CONFIG overrides them):", indent: "")
        lines.append("")
        for key in SettingKey.allCases {
            lines.append("  \(key.rawValue)")
            lines += wrap(key.summary + (key.defaultText.map { " (default: \($0))" } ?? ""), indent: "      ")
        }
        lines.append("")
        lines += wrap(
            "A missing or invalid setting is one line on standard error naming the variable and the rule; exit status 2.",
            indent: "")
        lines += wrap(
            "Signals: SIGTERM/SIGINT announce offline/shutdown and disconnect cleanly (exit 0); SIGHUP reloads the file.",
            indent: "")
        return lines.joined(separator: "\n")
    }

    /// Words of `text` in lines of at most `width` columns, each starting with `indent`.
    static func wrap(_ text: String, indent: String, width: Int = 78) -> [String] {
        var lines: [String] = []
        var line = indent
        for word in text.split(separator: " ") {
            if line.count > indent.count, line.count + 1 + word.count > width {
                lines.append(line)
                line = indent
            }
            line += (line.count > indent.count ? " " : "") + word
        }
        if line.count > indent.count { lines.append(line) }
        return lines
    }

    /// Loads the configuration or prints the error the way every subcommand does.
    public static func loadConfiguration(environment: [String: String]) -> Result<
        (ConfigurationLoader, ConfigurationLoader.Loaded), ConfigurationError
    > {
        let loader = ConfigurationLoader(environment: environment)
        do {
            return .success((loader, try loader.load()))
        } catch {
            return .failure(error)
        }
    }

    /// `check-config`: the effective settings with their sources, secrets as `***`.
    public static func describe(_ configuration: AgentConfiguration) -> String {
        let width = (SettingKey.allCases.map(\.rawValue.count).max() ?? 0) + 2
        return SettingKey.allCases.map { key in
            let source = configuration.sources[key] ?? "default"
            return "\(key.rawValue.padding(to: width))\(configuration.displayValue(of: key))  [\(source)]"
        }.joined(separator: "\n")
    }

    /// `check-config --json`.
    public static func describeJSON(_ configuration: AgentConfiguration) throws -> String {
        struct Entry: Encodable {
            var value: String?
            var source: String
        }
        var entries: [String: Entry] = [:]
        for key in SettingKey.allCases {
            let shown = configuration.value(of: key) == nil ? nil : configuration.displayValue(of: key)
            entries[key.rawValue] = Entry(value: shown, source: configuration.sources[key] ?? "default")
        }
        return try FleetJSON.encodePretty(entries)
    }

    /// `metrics`: one snapshot of every heartbeat section, with CPU figures over `sampleSeconds`.
    public static func metricsSnapshot(
        root: String, dataDirectory: String, gatewayURL: HTTPURL, sampleSeconds: Double
    ) -> MetricsOutput {
        let collector = MetricsCollector(root: root, dataDirectory: dataDirectory)
        let started = Monotonic.seconds()
        _ = collector.collect()
        let probe = GatewayMonitor().probe(gatewayURL)
        let remaining = sampleSeconds - (Monotonic.seconds() - started)
        if remaining > 0 {
            var pause = timespec(tv_sec: Int(remaining), tv_nsec: Int((remaining - remaining.rounded(.down)) * 1e9))
            var left = timespec()
            while nanosleep(&pause, &left) == -1 && errno == EINTR { pause = left }
        }
        let snapshot = collector.collect()
        let gateway = GatewayMonitor.section(for: probe)
        let health = HealthEvaluator().report(snapshot: snapshot, gateway: gateway, busConnected: true, protocolName: "none")
        let heartbeat = TelemetryBuilder(agentVersion: AgentContext.agentVersion).heartbeat(
            name: try! HatchlingName(validating: "local"), bootId: "", seq: 0, ts: .now(), intervalS: 0, snapshot: snapshot,
            agentUptime: Monotonic.seconds() - started, gateway: gateway, health: health.status)
        return MetricsOutput(heartbeat: heartbeat, problems: snapshot.problems)
    }
}

/// The heartbeat's sections without the bus envelope, for `hatchling-agent metrics`.
public struct MetricsOutput: Encodable, Sendable {
    public var ts: FleetTimestamp
    public var health: HealthStatus
    public var agent: Heartbeat.AgentSection
    public var host: Heartbeat.HostSection
    public var container: Heartbeat.ContainerSection
    public var disk: Heartbeat.DiskSection
    public var gateway: Heartbeat.GatewaySection
    /// Figures that could not be read, and why (local output only; never on the bus).
    public var problems: [String]

    init(heartbeat: Heartbeat, problems: [String]) {
        ts = heartbeat.ts
        health = heartbeat.health
        agent = heartbeat.agent
        host = heartbeat.host
        container = heartbeat.container
        disk = heartbeat.disk
        gateway = heartbeat.gateway
        self.problems = problems
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
