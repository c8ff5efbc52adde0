import FleetProtocol
import Prometheus

/// The Prometheus text exposition of the fleet, built fresh for every scrape.
///
/// A new `PrometheusCollectorRegistry` per scrape (a few dozen gauges; microseconds) means a
/// series exists only while its value is current: an offline or stale hatchling reports
/// `hatchling_up 0` and its info, and no frozen gauges, with no bookkeeping to get wrong.
/// swift-prometheus writes `# HELP` and `# TYPE` and escapes label values.
public enum MetricsRenderer {
    /// Names and help texts of every family, for the docs and the tests.
    public static let help: [(name: String, help: String)] = [
        ("hatchling_up", "1 when the hatchling is online with a fresh heartbeat, 0 when offline or stale."),
        ("hatchling_heartbeat_age_seconds", "Seconds since the hatchling's last heartbeat (its ts against the hub's clock)."),
        ("hatchling_memory_current_bytes", "Memory in use by the hatchling's container (cgroup)."),
        ("hatchling_memory_limit_bytes", "The container's memory limit; absent when it has none."),
        ("hatchling_cpu_percent", "CPU of the container in percent of one core, else the host's busy share."),
        ("hatchling_load1", "The host's one-minute load average."),
        ("hatchling_disk_free_bytes", "Free bytes on the file system of the hatchling's data directory."),
        ("hatchling_gateway_up", "1 when the last probe of the gateway's health endpoint worked."),
        ("hatchling_info", "Always 1; the labels carry the agent version and the boot id."),
        ("fleetctl_broker_connected", "1 while the exporter is connected to the broker."),
    ]

    /// The exposition for `summaries`.
    public static func render(_ summaries: [HatchlingSummary], brokerConnected: Bool) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        func set(_ name: String, _ hatchling: String, _ value: Double?, extra: [(String, String)] = []) {
            guard let value else { return }
            let help = help.first { $0.name == name }?.help ?? ""
            registry.makeGauge(descriptor: descriptor(name, help), labels: [("hatchling", hatchling)] + extra).set(to: value)
        }
        for h in summaries {
            set("hatchling_up", h.name, h.state == .online ? 1 : 0)
            // Label values come from the hatchling: anything but a version and a boot id as the
            // contract has them becomes "invalid" (no 64 KB labels, no escape codes in dashboards).
            let version = h.agentVersion.map { VersionText.isVersionLike($0) ? $0 : "invalid" } ?? ""
            let bootID = h.bootId.map { isBootID($0) ? $0 : "invalid" } ?? ""
            set("hatchling_info", h.name, 1, extra: [("agent_version", version), ("boot_id", bootID)])
            guard h.state == .online else { continue }
            set("hatchling_heartbeat_age_seconds", h.name, h.heartbeatAgeS)
            set("hatchling_memory_current_bytes", h.name, h.memoryCurrentBytes.map { Double($0) })
            set("hatchling_memory_limit_bytes", h.name, h.memoryLimitBytes.map { Double($0) })
            set("hatchling_cpu_percent", h.name, h.cpuPct)
            set("hatchling_load1", h.name, h.load1)
            set("hatchling_disk_free_bytes", h.name, h.diskFreeBytes.map { Double($0) })
            set("hatchling_gateway_up", h.name, h.gatewayOk.map { $0 ? 1 : 0 })
        }
        registry.makeGauge(descriptor: descriptor("fleetctl_broker_connected", help.last!.help)).set(to: brokerConnected ? 1 : 0)
        return registry.emitToBuffer()
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
