import FleetProtocol
import HatchlingMetrics
import Testing

@testable import HatchlingAgent

@Suite("HealthEvaluator")
struct HealthEvaluatorTests {
    let up = Heartbeat.GatewaySection(ok: true, httpStatus: 200, latencyMs: 3)
    let down = Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: 2000, error: "timeout")

    /// A snapshot with a 1000-byte container limit and a disk half free; no working set unless given.
    func snapshot(used: UInt64 = 100, workingSet: UInt64? = nil, limit: UInt64? = 1000, diskFree: UInt64 = 500) -> MetricsSnapshot {
        var s = MetricsSnapshot(diskPath: "/data")
        s.containerMemoryCurrentBytes = used
        s.containerMemoryWorkingSetBytes = workingSet
        s.containerMemoryLimitBytes = limit
        s.hostMemoryTotalBytes = 10_000
        s.hostMemoryAvailableBytes = 8_000
        s.diskTotalBytes = 1000
        s.diskFreeBytes = diskFree
        return s
    }

    func report(_ s: MetricsSnapshot, gateway: Heartbeat.GatewaySection? = nil, bus: Bool = true) -> HealthReport {
        HealthEvaluator().report(snapshot: s, gateway: gateway ?? up, busConnected: bus, protocolName: "5")
    }

    @Test("all well: healthy, with every check filled in")
    func healthy() {
        let r = report(snapshot())
        #expect(r.status == .healthy)
        #expect(r.checks.gateway == up)
        #expect(r.checks.bus == HealthReport.BusCheck(ok: true, protocol: "5"))
        #expect(r.checks.memory == HealthReport.MemoryCheck(ok: true, usedBytes: 100, limitBytes: 1000, usedPct: 10, scope: "container"))
        #expect(r.checks.disk == HealthReport.DiskCheck(ok: true, path: "/data", freeBytes: 500, freePct: 50))
    }

    @Test("gateway down or bus down: unhealthy, whatever else")
    func unhealthy() {
        #expect(report(snapshot(), gateway: down).status == .unhealthy)
        #expect(report(snapshot(), bus: false).status == .unhealthy)
        #expect(report(snapshot(used: 990, diskFree: 1), gateway: down).status == .unhealthy)
    }

    @Test("memory at or above 90 % of the container limit: degraded")
    func memory() {
        let at = report(snapshot(used: 900))
        #expect(at.status == .degraded)
        #expect(at.checks.memory.ok == false)
        #expect(at.checks.memory.usedPct == 90)
        #expect(report(snapshot(used: 899)).status == .healthy)
        #expect(report(snapshot(used: 1200)).checks.memory.usedPct == 120)
    }

    @Test("the working set, when known, is what is judged: page cache the kernel would reclaim makes no degraded")
    func workingSet() {
        // Usage at 95 % of the limit, mostly inactive page cache: healthy, judged by the working set.
        let cache = report(snapshot(used: 950, workingSet: 400))
        #expect(cache.status == .healthy)
        #expect(cache.checks.memory == HealthReport.MemoryCheck(ok: true, usedBytes: 400, limitBytes: 1000, usedPct: 40, scope: "container"))
        // The working set itself at the threshold: degraded, whatever the usage says.
        let tight = report(snapshot(used: 950, workingSet: 900))
        #expect(tight.status == .degraded && tight.checks.memory.usedPct == 90 && tight.checks.memory.usedBytes == 900)
        #expect(report(snapshot(used: 950, workingSet: 899)).status == .healthy)
        // Unknown (an older kernel file missing, garbage): the usage, as before.
        #expect(report(snapshot(used: 950, workingSet: nil)).checks.memory.usedBytes == 950)
        #expect(report(snapshot(used: 950, workingSet: nil)).status == .degraded)
        // A working set of 0 (more inactive cache than usage, read a moment apart) is a figure, not unknown.
        #expect(report(snapshot(used: 950, workingSet: 0)).checks.memory.usedPct == 0)
        // Without a limit the host's memory is judged, as before; the working set does not enter it.
        #expect(report(snapshot(used: 950, workingSet: 400, limit: nil)).checks.memory.scope == "host")
    }

    @Test("disk free under 5 %: degraded")
    func disk() {
        let low = report(snapshot(diskFree: 49))
        #expect(low.status == .degraded)
        #expect(low.checks.disk.ok == false)
        #expect(low.checks.disk.freePct == 4.9)
        #expect(report(snapshot(diskFree: 50)).status == .healthy)
    }

    @Test("no container limit: judged against the host's memory")
    func hostScope() {
        let fine = report(snapshot(limit: nil))
        #expect(fine.checks.memory == HealthReport.MemoryCheck(ok: true, usedBytes: 2000, limitBytes: 10_000, usedPct: 20, scope: "host"))
        var tight = snapshot(limit: nil)
        tight.hostMemoryAvailableBytes = 500
        let r = report(tight)
        #expect(r.checks.memory.scope == "host")
        #expect(r.checks.memory.usedPct == 95)
        #expect(r.status == .degraded)
    }

    @Test("nothing to judge by: unknown scope, not degraded")
    func unknown() {
        var s = MetricsSnapshot(diskPath: "/data")
        s.containerMemoryCurrentBytes = 42
        let r = report(s)
        #expect(r.status == .healthy)
        #expect(r.checks.memory == HealthReport.MemoryCheck(ok: true, usedBytes: 42, limitBytes: nil, usedPct: nil, scope: "unknown"))
        s.containerMemoryWorkingSetBytes = 40
        #expect(report(s).checks.memory.usedBytes == 40, "the working set when known, there too")
        #expect(r.checks.disk == HealthReport.DiskCheck(ok: true, path: "/data", freeBytes: nil, freePct: nil))
    }

    @Test("severity orders the statuses")
    func ordering() {
        #expect(HealthStatus.healthy < .degraded)
        #expect(HealthStatus.degraded < .unhealthy)
        #expect(HealthStatus.allCases.max() == .unhealthy)
    }
}
