import FleetProtocol

/// The Prometheus text exposition of the fleet, written in one pass for every scrape.
///
/// Written directly, family by family, into one buffer: a collector registry with a gauge per
/// series (swift-prometheus) cost 19 s a scrape at 10,000 hatchlings, much more than linear.
/// Names, units and types follow Prometheus' conventions (node_exporter, cAdvisor): base units,
/// ratios rather than percentages, `_total` counters, timestamps rather than ages, a `_build_info`. A figure exists
/// only while it is current: a stale, lost or shut down hatchling reports its state, its last
/// heartbeat's time and its info, and no frozen figures. Label values are escaped as the text
/// format says (backslash, double quote, newline); `promtool check metrics` reads the output in
/// the tests.
public enum MetricsRenderer {
    /// A metric family: its name, help text and type as written in `# HELP` and `# TYPE`.
    public struct Family: Sendable {
        public var name: String
        public var help: String
        public var type: String
    }

    /// The states of `hatchling_state`, one series each (1 for the hatchling's state, 0 for the rest).
    public static let states = ["online", "stale", "lost", "shutdown"]

    static let up = Family(
        name: "hatchling_up", help: "1 when the hatchling is online with a fresh heartbeat, 0 when it is stale, lost or shut down.", type: "gauge")
    static let state = Family(
        name: "hatchling_state",
        help: "1 for the state the hub sees the hatchling in (online, stale, lost: its will fired, shutdown: it said it stopped), 0 for the others.",
        type: "gauge")
    static let lastHeartbeat = Family(
        name: "hatchling_last_heartbeat_timestamp_seconds", help: "Unix time of the last heartbeat the hub holds (its ts), in every state.",
        type: "gauge")
    static let info = Family(name: "hatchling_info", help: "Always 1; the labels carry the agent version and the boot id.", type: "gauge")
    static let brokerConnection = Family(name: "fleetctl_broker_connected", help: "1 while the exporter is connected to the broker.", type: "gauge")
    static let buildInfo = Family(name: "fleetctl_build_info", help: "Always 1; the version label is the exporter's fleetctl version.", type: "gauge")

    /// Every family the exporter writes, in order; for the docs and the tests.
    public static let help: [Family] = [up, state, lastHeartbeat] + figures.map(\.family) + [info, brokerConnection, buildInfo]

    /// Figures of an online hatchling: the value of each, or nil for no series (nothing frozen
    /// is exported for a hatchling that is not online). Base units: bytes, seconds, ratios.
    static let figures: [(family: Family, value: @Sendable (HatchlingSummary) -> Double?)] = [
        (
            gauge("hatchling_memory_current_bytes", "Memory in use by the hatchling's container (cgroup)."),
            { $0.memoryCurrentBytes.map { Double($0) } }
        ),
        (gauge("hatchling_memory_limit_bytes", "The container's memory limit; absent when it has none."), { $0.memoryLimitBytes.map { Double($0) } }),
        (
            gauge(
                "hatchling_memory_working_set_bytes",
                "Memory the container cannot give back without swapping or an OOM kill: usage less inactive file pages (cgroup memory.stat), as cAdvisor's container_memory_working_set_bytes."
            ),
            { $0.memoryWorkingSetBytes.map { Double($0) } }
        ),
        (
            gauge("hatchling_cpu_usage_ratio", "CPU seconds per second used by the container (1 = one core), between the last two heartbeats."),
            { $0.containerCpuRatio }
        ),
        (gauge("hatchling_cpu_limit_cores", "The container's CPU quota in cores; absent when it has none."), { $0.cpuLimitCores }),
        (gauge("hatchling_host_cpu_busy_ratio", "Busy share of all the host's CPUs (0-1), between the last two heartbeats."), { $0.hostCpuRatio }),
        (gauge("hatchling_load1", "The host's one-minute load average."), { $0.load1 }),
        (
            gauge("hatchling_data_filesystem_avail_bytes", "Bytes an unprivileged user may still write on the file system of the data directory."),
            { $0.diskFreeBytes.map { Double($0) } }
        ),
        (
            gauge("hatchling_data_filesystem_size_bytes", "Size in bytes of the file system of the data directory."),
            { $0.diskTotalBytes.map { Double($0) } }
        ),
        (
            counter("hatchling_oom_kills_total", "Processes of the container killed for want of memory (cgroup oom_kill)."),
            { $0.oomKills.map { Double($0) } }
        ),
        (
            counter("hatchling_network_receive_bytes_total", "Bytes received by the container's interfaces, lo excepted."),
            { $0.netRxBytes.map { Double($0) } }
        ),
        (
            counter("hatchling_network_transmit_bytes_total", "Bytes sent by the container's interfaces, lo excepted."),
            { $0.netTxBytes.map { Double($0) } }
        ),
        (gauge("hatchling_container_start_time_seconds", "Unix time the container started (its PID 1)."), { $0.containerStartUnixS }),
        (gauge("hatchling_agent_start_time_seconds", "Unix time the agent process started."), { $0.agentStartUnixS }),
        (gauge("hatchling_gateway_up", "1 when the last probe of the gateway's health endpoint worked."), { $0.gatewayOk.map { $0 ? 1 : 0 } }),
        (gauge("hatchling_gateway_latency_seconds", "How long the last probe of the gateway's health endpoint took."), { $0.gatewayLatencyS }),
    ]

    static func gauge(_ name: String, _ help: String) -> Family { Family(name: name, help: help, type: "gauge") }
    static func counter(_ name: String, _ help: String) -> Family { Family(name: name, help: help, type: "counter") }

    /// The name `hatchling_state` gives a summary's state.
    static func stateName(_ summary: HatchlingSummary) -> String {
        switch summary.state {
        case .online: "online"
        case .stale: "stale"
        case .offline: summary.reason == StatusPayload.OfflineReason.shutdown.rawValue ? "shutdown" : "lost"
        }
    }

    /// The exposition for `summaries` (figures are set for online hatchlings only; see `HatchlingSummary`).
    public static func render(_ summaries: [HatchlingSummary], brokerConnected: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512 + summaries.count * 1400)
        header(up, into: &out)
        for summary in summaries {
            sample(up.name, [("hatchling", summary.name)], summary.state == .online ? 1 : 0, into: &out)
        }
        header(state, into: &out)
        for summary in summaries {
            let current = stateName(summary)
            for value in states {
                sample(state.name, [("hatchling", summary.name), ("state", value)], value == current ? 1 : 0, into: &out)
            }
        }
        header(lastHeartbeat, into: &out)
        for summary in summaries {
            guard let unixS = summary.lastHeartbeatUnixS else { continue }
            sample(lastHeartbeat.name, [("hatchling", summary.name)], unixS, into: &out)
        }
        for figure in figures {
            header(figure.family, into: &out)
            for summary in summaries where summary.state == .online {
                guard let value = figure.value(summary) else { continue }
                sample(figure.family.name, [("hatchling", summary.name)], value, into: &out)
            }
        }
        header(info, into: &out)
        for summary in summaries {
            // Label values come from the hatchling: anything but a version and a boot id as the
            // contract has them becomes "invalid" (no 64 KB labels, no escape codes in dashboards).
            let version = summary.agentVersion.map { VersionText.isVersionLike($0) ? $0 : "invalid" } ?? ""
            let bootID = summary.bootId.map { isBootID($0) ? $0 : "invalid" } ?? ""
            sample(info.name, [("hatchling", summary.name), ("agent_version", version), ("boot_id", bootID)], 1, into: &out)
        }
        header(brokerConnection, into: &out)
        sample(brokerConnection.name, [], brokerConnected ? 1 : 0, into: &out)
        header(buildInfo, into: &out)
        sample(buildInfo.name, [("version", FleetControlVersion.current)], 1, into: &out)
        return out
    }

    static func header(_ family: Family, into out: inout [UInt8]) {
        header(family.name, family.help, type: family.type, into: &out)
    }

    static func header(_ name: String, _ help: String, type: String = "gauge", into out: inout [UInt8]) {
        out += "# HELP \(name) ".utf8
        escape(help, quote: false, into: &out)
        out += "\n# TYPE \(name) \(type)\n".utf8
    }

    static func sample(_ name: String, _ labels: [(String, String)], _ value: Double, into out: inout [UInt8]) {
        out += name.utf8
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            for (index, (label, text)) in labels.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += label.utf8
                out += "=\"".utf8
                escape(text, quote: true, into: &out)
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out += number(value).utf8
        out.append(0x0A)
    }

    /// The text format's escapes: `\\` and `\n` everywhere, `\"` in label values.
    static func escape(_ text: String, quote: Bool, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case UInt8(ascii: "\"") where quote: out += #"\""#.utf8
            default: out.append(byte)
            }
        }
    }

    /// A sample value as the text format reads it (`+Inf`, `-Inf`, `NaN`, else Swift's shortest form).
    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return value.description
    }
}
