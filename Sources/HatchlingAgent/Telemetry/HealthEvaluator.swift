import FleetProtocol
import HatchlingMetrics

/// The health rules: gateway down is `unhealthy`; memory at or above `memoryDegradedPercent` of the
/// container's limit (or of the host's memory without a limit) or disk free under
/// `diskDegradedFreePercent` is `degraded`. The container's memory is its working set when known
/// (usage less inactive file pages, which the kernel reclaims before an OOM kill: a container
/// full of page cache is not short of memory), else its usage. Pure: figures in, verdict out.
public struct HealthEvaluator: Sendable {
    public var memoryDegradedPercent = 90.0
    public var diskDegradedFreePercent = 5.0

    public init() {}

    public func report(snapshot: MetricsSnapshot, gateway: Heartbeat.GatewaySection, busConnected: Bool, protocolName: String) -> HealthReport {
        let memory = memoryCheck(snapshot)
        let disk = diskCheck(snapshot)
        var status = HealthStatus.healthy
        if !memory.ok || !disk.ok { status = .degraded }
        if !gateway.ok || !busConnected { status = .unhealthy }
        return HealthReport(
            status: status,
            checks: HealthReport.Checks(
                gateway: gateway, bus: HealthReport.BusCheck(ok: busConnected, protocol: protocolName), memory: memory, disk: disk))
    }

    func memoryCheck(_ s: MetricsSnapshot) -> HealthReport.MemoryCheck {
        if let limit = s.containerMemoryLimitBytes, let used = s.containerMemoryWorkingSetBytes ?? s.containerMemoryCurrentBytes, limit > 0 {
            let pct = Double(used) / Double(limit) * 100
            return HealthReport.MemoryCheck(
                ok: pct < memoryDegradedPercent, usedBytes: used, limitBytes: limit, usedPct: round2(pct), scope: "container")
        }
        if let total = s.hostMemoryTotalBytes, let available = s.hostMemoryAvailableBytes, total > 0 {
            let used = total - min(available, total)
            let pct = Double(used) / Double(total) * 100
            return HealthReport.MemoryCheck(ok: pct < memoryDegradedPercent, usedBytes: used, limitBytes: total, usedPct: round2(pct), scope: "host")
        }
        // Nothing to judge by: not a reason to call the hatchling degraded.
        return HealthReport.MemoryCheck(
            ok: true, usedBytes: s.containerMemoryWorkingSetBytes ?? s.containerMemoryCurrentBytes, limitBytes: nil, usedPct: nil, scope: "unknown")
    }

    func diskCheck(_ s: MetricsSnapshot) -> HealthReport.DiskCheck {
        guard let total = s.diskTotalBytes, let free = s.diskFreeBytes, total > 0 else {
            return HealthReport.DiskCheck(ok: true, path: s.diskPath, freeBytes: s.diskFreeBytes, freePct: nil)
        }
        let pct = Double(free) / Double(total) * 100
        return HealthReport.DiskCheck(ok: pct >= diskDegradedFreePercent, path: s.diskPath, freeBytes: free, freePct: round2(pct))
    }
}

func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }
