import FleetProtocol
import HatchlingMetrics

/// Turns a metrics snapshot into the heartbeat's sections: typed fields only (ADR-005).
public struct TelemetryBuilder: Sendable {
    public var agentVersion: String

    public init(agentVersion: String) {
        self.agentVersion = agentVersion
    }

    public func heartbeat(
        name: HatchlingName, bootId: String, seq: UInt64, ts: FleetTimestamp, intervalS: Int,
        snapshot s: MetricsSnapshot, agentUptime: Double, gateway: Heartbeat.GatewaySection, health: HealthStatus
    ) -> Heartbeat {
        Heartbeat(
            hatchling: name, bootId: bootId, seq: seq, ts: ts, intervalS: intervalS, health: health,
            agent: .init(
                version: agentVersion, uptimeS: round2(agentUptime), rssBytes: s.processRSSBytes, threads: s.processThreads,
                openFds: s.processOpenFileDescriptors),
            host: .init(
                uptimeS: s.hostUptimeSeconds.map(round2), load: s.load, memTotalBytes: s.hostMemoryTotalBytes,
                memAvailableBytes: s.hostMemoryAvailableBytes, cpuPct: s.hostCPUPercent.map(round2)),
            container: .init(
                uptimeS: s.containerUptimeSeconds.map(round2), memCurrentBytes: s.containerMemoryCurrentBytes,
                memLimitBytes: s.containerMemoryLimitBytes, cpuPct: s.containerCPUPercent.map(round2),
                cpuLimitCores: s.containerCPULimitCores, oomKills: s.containerOOMKills, netRxBytes: s.networkReceivedBytes,
                netTxBytes: s.networkSentBytes, memWorkingSetBytes: s.containerMemoryWorkingSetBytes),
            disk: .init(path: s.diskPath, totalBytes: s.diskTotalBytes, freeBytes: s.diskFreeBytes),
            gateway: gateway)
    }
}
