import FleetProtocol

/// The Prometheus text exposition of the fleet, written in one pass for every scrape.
///
/// Written directly, family by family, into one buffer: a collector registry with a gauge per
/// series (swift-prometheus) cost 19 s a scrape at 10,000 hatchlings, much more than linear. A
/// series exists only while its value is current: an offline or stale hatchling reports
/// `hatchling_up 0` and its info, and no frozen gauges. Label values are escaped as the text
/// format says (backslash, double quote, newline); `promtool check metrics` reads the output in
/// the tests.
public enum MetricsRenderer {
    /// Names and help texts of every family, for the docs and the tests.
    public static let help: [(name: String, help: String)] = families.map { ($0.name, $0.help) } + [
        ("hatchling_info", "Always 1; the labels carry the agent version and the boot id."),
        ("fleetctl_broker_connected", "1 while the exporter is connected to the broker."),
    ]

    /// The per-hatchling gauges: the value of each, or nil for no series.
    static let families: [(name: String, help: String, value: @Sendable (HatchlingSummary) -> Double?)] = [
        ("hatchling_up", "1 when the hatchling is online with a fresh heartbeat, 0 when offline or stale.", { $0.state == .online ? 1 : 0 }),
        (
            "hatchling_heartbeat_age_seconds", "Seconds since the hatchling's last heartbeat (its ts against the hub's clock).",
            { $0.state == .online ? $0.heartbeatAgeS : nil }
        ),
        ("hatchling_memory_current_bytes", "Memory in use by the hatchling's container (cgroup).", { $0.memoryCurrentBytes.map { Double($0) } }),
        ("hatchling_memory_limit_bytes", "The container's memory limit; absent when it has none.", { $0.memoryLimitBytes.map { Double($0) } }),
        ("hatchling_cpu_percent", "CPU of the container in percent of one core, else the host's busy share.", { $0.cpuPct }),
        ("hatchling_load1", "The host's one-minute load average.", { $0.load1 }),
        ("hatchling_disk_free_bytes", "Free bytes on the file system of the hatchling's data directory.", { $0.diskFreeBytes.map { Double($0) } }),
        ("hatchling_gateway_up", "1 when the last probe of the gateway's health endpoint worked.", { $0.gatewayOk.map { $0 ? 1 : 0 } }),
    ]

    /// The exposition for `summaries` (figures are set for online hatchlings only; see `HatchlingSummary`).
    public static func render(_ summaries: [HatchlingSummary], brokerConnected: Bool) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + summaries.count * 900)
        for family in families {
            header(family.name, family.help, into: &out)
            for summary in summaries {
                guard let value = family.value(summary) else { continue }
                sample(family.name, [("hatchling", summary.name)], value, into: &out)
            }
        }
        header("hatchling_info", help[help.count - 2].help, into: &out)
        for summary in summaries {
            // Label values come from the hatchling: anything but a version and a boot id as the
            // contract has them becomes "invalid" (no 64 KB labels, no escape codes in dashboards).
            let version = summary.agentVersion.map { VersionText.isVersionLike($0) ? $0 : "invalid" } ?? ""
            let bootID = summary.bootId.map { isBootID($0) ? $0 : "invalid" } ?? ""
            sample("hatchling_info", [("hatchling", summary.name), ("agent_version", version), ("boot_id", bootID)], 1, into: &out)
        }
        header("fleetctl_broker_connected", help[help.count - 1].help, into: &out)
        sample("fleetctl_broker_connected", [], brokerConnected ? 1 : 0, into: &out)
        return out
    }

    static func header(_ name: String, _ help: String, into out: inout [UInt8]) {
        out += "# HELP \(name) ".utf8
        escape(help, quote: false, into: &out)
        out += "\n# TYPE \(name) gauge\n".utf8
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
