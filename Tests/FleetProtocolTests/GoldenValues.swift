import FleetProtocol

/// The values behind the golden files in `Golden/`: each file is `FleetJSON.encode` of one of these.
enum GoldenValues {
    static let mason = try! HatchlingName(validating: "mason")
    static let bootId = "3f2a9c1e5b7d4a6f8e0c1b2d3a4f5e6d"
    /// 2026-11-29T05:00:00.120Z
    static let responseTime = FleetTimestamp(millisecondsSinceEpoch: 1_795_928_400_120)
    /// 2026-11-29T05:00:00.000Z
    static let heartbeatTime = FleetTimestamp(millisecondsSinceEpoch: 1_795_928_400_000)

    static let gatewayUp = Heartbeat.GatewaySection(ok: true, httpStatus: 200, latencyMs: 4)
    static let gatewayDown = Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: 2000, error: "timeout")

    /// A heartbeat with some figures that could not be read (null): host CPU on the first sample,
    /// no memory limit, no CPU quota. The working set is the usage less 20 MiB of inactive page cache.
    static let heartbeat = Heartbeat(
        hatchling: mason, bootId: bootId, seq: 812, ts: heartbeatTime, intervalS: 30, health: .healthy,
        agent: .init(version: "1.0.0", uptimeS: 3600, rssBytes: 5_242_880),
        host: .init(uptimeS: 912_345.2, load: [0.12, 0.3, 0.25], memTotalBytes: 16_707_350_528, memAvailableBytes: 9_663_676_416, cpuPct: nil),
        container: .init(
            uptimeS: 3600.5, memCurrentBytes: 73_400_320, memLimitBytes: nil, cpuPct: 1.2, cpuLimitCores: nil, memWorkingSetBytes: 52_428_800),
        disk: .init(path: "/home/openclaw/.openclaw", totalBytes: 107_374_182_400, freeBytes: 53_687_091_200),
        gateway: gatewayUp)

    static let responseOkHealth = CommandResponse(
        id: "c-42", hatchling: mason, command: "health-check", ts: responseTime, durationMs: 3,
        outcome: .health(
            HealthReport(
                status: .degraded,
                checks: .init(
                    gateway: gatewayUp, bus: .init(ok: true, protocol: "5"),
                    memory: .init(ok: false, usedBytes: 966_367_641, limitBytes: 1_073_741_824, usedPct: 90, scope: "container"),
                    disk: .init(ok: true, path: "/home/openclaw/.openclaw", freeBytes: 53_687_091_200, freePct: 50)))))

    static let responseOkVersion = CommandResponse(
        id: "c-43", hatchling: mason, command: "version-report", ts: responseTime, durationMs: 12,
        outcome: .version(VersionReport(agent: "1.0.0", openclaw: "2026.1.5", image: nil)))

    static let responseOkReload = CommandResponse(
        id: "c-44", hatchling: mason, command: "config-reload", ts: responseTime, durationMs: 1,
        outcome: .reload(
            ReloadReport(
                changed: ["MQTT_HOST", "HEARTBEAT_INTERVAL"], restartRequired: ["MQTT_HOST"],
                configSha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")))

    static var counters: AgentCounters {
        var counters = AgentCounters()
        counters.connects = 3
        counters.lastSessionPresent = true
        counters.sessionsResumed = 2
        counters.commands = ["ok": 5, "unknown-command": 1]
        counters.expired = 1
        counters.duplicates = 1
        counters.reloads = 1
        return counters
    }

    static var statusHeartbeat: Heartbeat {
        var heartbeat = heartbeat
        heartbeat.health = .unhealthy
        heartbeat.gateway = gatewayDown
        return heartbeat
    }

    static let responseOkStatus = CommandResponse(
        id: "c-45", hatchling: mason, command: "status-report", ts: responseTime, durationMs: 2,
        outcome: .status(StatusReport(heartbeat: statusHeartbeat, counters: counters)))

    static let responseError = CommandResponse(
        id: "c-46", hatchling: mason, command: "reboot", ts: responseTime, durationMs: 0,
        outcome: .failure(
            FleetErrorBody(
                code: .unknownCommand,
                message: "'reboot' is not a command; commands are: health-check, version-report, config-reload, status-report")))

    static let responsePlainText = CommandResponse(
        id: nil, hatchling: mason, command: "version-report", ts: responseTime, durationMs: 5,
        outcome: .version(VersionReport(agent: "1.0.0", openclaw: nil, image: "2026.11.1")))

    static let statusOnline = StatusPayload.online(bootId: bootId, at: heartbeatTime, agentVersion: "1.0.0", heartbeatIntervalS: 30)
    static let statusOfflineLost = StatusPayload.lost(bootId: bootId)
    static let statusOfflineShutdown = StatusPayload.shutdown(bootId: bootId, at: responseTime)

    static let event = EventPayload(
        event: "task-done", data: Array(#"{"files":2,"ok":true,"task":"nightly-backup"}"#.utf8), ts: responseTime, bootId: bootId, seq: 7)
}
