import FleetControl
import FleetProtocol
import MosquittoClient

/// Payloads as an agent writes them, for the pure parts' tests.
enum Fixture {
    static let t0 = FleetTimestamp(rfc3339: "2026-11-29T05:00:00Z")!

    static func heartbeat(_ name: String, boot: String = "0123456789abcdef0123456789abcdef", at ts: FleetTimestamp = t0, interval: Int = 30)
        -> Heartbeat
    {
        Heartbeat(
            hatchling: try! HatchlingName(validating: name), bootId: boot, seq: 7, ts: ts, intervalS: interval, health: .healthy,
            agent: .init(version: "1.0.0", uptimeS: 60, rssBytes: 5_242_880),
            host: .init(uptimeS: 1000, load: [0.5, 0.4, 0.3], memTotalBytes: 8 << 30, memAvailableBytes: 4 << 30, cpuPct: 3),
            container: .init(
                uptimeS: 60, memCurrentBytes: 100 << 20, memLimitBytes: 400 << 20, cpuPct: 1.5, cpuLimitCores: nil, memWorkingSetBytes: 80 << 20),
            disk: .init(path: "/home/openclaw/.openclaw", totalBytes: 100 << 30, freeBytes: 40 << 30),
            gateway: .init(ok: true, httpStatus: 200, latencyMs: 4))
    }

    static func online(boot: String = "0123456789abcdef0123456789abcdef", version: String = "1.0.0") -> StatusPayload {
        StatusPayload.online(bootId: boot, at: t0, agentVersion: version, heartbeatIntervalS: 30)
    }

    static func message<T: Encodable>(_ topic: String, _ value: T, retain: Bool = true) -> MQTTMessage {
        MQTTMessage(topic: topic, payload: try! FleetJSON.encode(value), qos: 1, retain: retain)
    }

    static func text(_ topic: String, _ text: String, retain: Bool = false) -> MQTTMessage {
        MQTTMessage(topic: topic, payload: Array(text.utf8), qos: 1, retain: retain)
    }
}
