import FleetProtocol
import MosquittoClient

/// What the hub knows of one hatchling: its retained status and heartbeat, as last received.
public struct HatchlingRecord: Sendable, Equatable {
    public var name: String
    public var status: StatusPayload?
    public var heartbeat: Heartbeat?
    /// Payloads on its topics that could not be read (kept until a readable one replaces them).
    public var problems: [String: String] = [:]

    /// A record with what is known so far.
    public init(name: String, status: StatusPayload? = nil, heartbeat: Heartbeat? = nil) {
        self.name = name
        self.status = status
        self.heartbeat = heartbeat
    }
}

/// The fleet as seen on `<root>/+/status` and `<root>/+/heartbeat`, built message by message.
public struct FleetView: Sendable, Equatable {
    /// The topic root the view reads.
    public let root: String
    /// By hatchling name.
    public private(set) var records: [String: HatchlingRecord] = [:]

    /// An empty view.
    public init(root: String) {
        self.root = root
    }

    /// The two filters this view reads.
    public static func filters(root: String) -> [String] {
        ["\(root)/+/status", "\(root)/+/heartbeat"]
    }

    /// One message read for the view: what it says of which hatchling. Reading (JSON decoding) is
    /// most of the work and needs no view, so many can be read at once (`status` does, on every core).
    public struct Reading: Sendable {
        let name: String
        let leaf: String
        let content: Content

        enum Content {
            case removed
            case status(StatusPayload)
            case heartbeat(Heartbeat)
            case unreadable
        }
    }

    /// Reads `message` for a view of `root`; nil when it is not a status or heartbeat of a hatchling.
    public static func read(_ message: MQTTMessage, root: String) -> Reading? {
        guard let (name, leaf) = FleetTopics.hatchlingName(inTopic: message.topic, root: root),
            leaf == "status" || leaf == "heartbeat", (try? HatchlingName(validating: name)) != nil
        else { return nil }
        // An empty retained message deletes the retained one: the broker no longer has it.
        if message.payload.isEmpty { return Reading(name: name, leaf: leaf, content: .removed) }
        // The fast readers take the contract's exact shapes; JSONDecoder decides the rest.
        if leaf == "status" {
            let status = StatusPayload.read(message.payload) ?? (try? FleetJSON.decode(StatusPayload.self, from: message.payload))
            return Reading(name: name, leaf: leaf, content: status.map { .status($0) } ?? .unreadable)
        }
        let heartbeat = Heartbeat.read(message.payload) ?? (try? FleetJSON.decode(Heartbeat.self, from: message.payload))
        return Reading(name: name, leaf: leaf, content: heartbeat.map { .heartbeat($0) } ?? .unreadable)
    }

    /// Applies one message; returns whether it was about the view (a status or heartbeat).
    @discardableResult
    public mutating func apply(_ message: MQTTMessage) -> Bool {
        guard let reading = Self.read(message, root: root) else { return false }
        apply(reading)
        return true
    }

    /// Applies what a message said.
    public mutating func apply(_ reading: Reading) {
        let (name, leaf) = (reading.name, reading.leaf)
        var record = records[name] ?? HatchlingRecord(name: name)
        record.problems[leaf] = nil
        switch reading.content {
        case .removed:
            if leaf == "status" { record.status = nil } else { record.heartbeat = nil }
        case .status(let status):
            record.status = status
        case .heartbeat(let heartbeat):
            record.heartbeat = heartbeat
        case .unreadable:
            if leaf == "status" { record.status = nil } else { record.heartbeat = nil }
            record.problems[leaf] = "unreadable \(leaf)"
        }
        if record.status == nil, record.heartbeat == nil, record.problems.isEmpty {
            records[name] = nil
        } else {
            records[name] = record
        }
    }

    /// Every hatchling's state at `now`, sorted by name.
    public func summaries(now: FleetTimestamp) -> [HatchlingSummary] {
        records.keys.sorted().compactMap { records[$0].map { HatchlingSummary($0, now: now) } }
    }
}

/// One hatchling's state and figures at an instant: what `status`, `watch` and the exporter show.
///
/// Figures (health, memory, CPU, disk, gateway) are given only while the hatchling is online: an
/// offline or stale hatchling's last figures are history, not its present.
public struct HatchlingSummary: Sendable, Equatable, Encodable {
    /// What the hub can say of a hatchling now.
    public enum State: String, Sendable, Encodable {
        case online
        case offline
        case stale
    }

    /// A heartbeat older than this many of its own intervals makes a hatchling stale.
    public static let staleFactor = 2.5

    public var name: String
    public var state: State
    /// offline: `lost` or `shutdown`; stale: why; online: nil.
    public var reason: String?
    public var bootId: String?
    public var heartbeatAgeS: Double?
    public var heartbeatIntervalS: Int?
    public var seq: UInt64?
    public var health: String?
    public var memoryCurrentBytes: UInt64?
    public var memoryLimitBytes: UInt64?
    public var memoryPct: Double?
    /// The container's CPU in percent of one core, else the host's busy share.
    public var cpuPct: Double?
    public var load1: Double?
    public var diskFreeBytes: UInt64?
    public var diskFreePct: Double?
    public var gatewayOk: Bool?
    public var agentVersion: String?
    /// Payloads that could not be read.
    public var problems: [String]

    // For the exporter; not in `status --json`. Figures the hatchling sent that are negative or
    // not finite are dropped here, so no series carries them.
    /// Unix time of the last heartbeat the hub holds, of this run or an earlier one, in any state.
    public var lastHeartbeatUnixS: Double?
    /// The container's CPU seconds per second (1 = one core); the host's busy share, 0-1.
    public var containerCpuRatio: Double?
    public var hostCpuRatio: Double?
    public var cpuLimitCores: Double?
    /// The container's working set (usage less inactive file pages); nil from agents without it.
    public var memoryWorkingSetBytes: UInt64?
    public var diskTotalBytes: UInt64?
    public var oomKills: UInt64?
    public var netRxBytes: UInt64?
    public var netTxBytes: UInt64?
    /// Unix times the container and the agent started (the heartbeat's ts less their uptimes).
    public var containerStartUnixS: Double?
    public var agentStartUnixS: Double?
    public var gatewayLatencyS: Double?

    /// The wire names, snake_case already: `status --json` converts no key (`keysAsWritten`).
    enum CodingKeys: String, CodingKey {
        case name, state, reason, health, seq, problems
        case bootId = "boot_id"
        case heartbeatAgeS = "heartbeat_age_s"
        case heartbeatIntervalS = "heartbeat_interval_s"
        case memoryCurrentBytes = "memory_current_bytes"
        case memoryLimitBytes = "memory_limit_bytes"
        case memoryPct = "memory_pct"
        case cpuPct = "cpu_pct"
        case load1
        case diskFreeBytes = "disk_free_bytes"
        case diskFreePct = "disk_free_pct"
        case gatewayOk = "gateway_ok"
        case agentVersion = "agent_version"
    }

    /// Judges `record` at `now` (see the rules in docs/fleetctl.md).
    public init(_ record: HatchlingRecord, now: FleetTimestamp) {
        name = record.name
        problems = record.problems.keys.sorted().compactMap { record.problems[$0] }
        let status = record.status
        // A heartbeat of another run (boot id) says nothing about this one.
        let beat = record.heartbeat.flatMap { beat in status.map { $0.bootId == beat.bootId } ?? true ? beat : nil }
        bootId = status?.bootId ?? beat?.bootId
        agentVersion = beat?.agent.version ?? status?.agentVersion
        heartbeatIntervalS = beat?.intervalS
        seq = beat?.seq
        heartbeatAgeS = beat.map { max(0, now.seconds(since: $0.ts)) }
        lastHeartbeatUnixS = record.heartbeat.map { Double($0.ts.millisecondsSinceEpoch) / 1000 }
        if let status, status.state == .offline {
            state = .offline
            reason = status.reason?.rawValue ?? "unknown"
            return
        }
        guard let beat, let age = heartbeatAgeS else {
            state = .stale
            reason = record.heartbeat == nil ? "no heartbeat" : "no heartbeat of this run"
            return
        }
        let limit = Self.staleFactor * Double(beat.intervalS)
        guard age <= limit else {
            state = .stale
            reason = "last heartbeat \(Figures.duration(age)) ago; limit \(Figures.duration(limit))"
            return
        }
        state = .online
        reason = status == nil ? "no retained status" : nil
        health = beat.health.rawValue
        memoryCurrentBytes = beat.container.memCurrentBytes
        memoryLimitBytes = beat.container.memLimitBytes
        if let current = memoryCurrentBytes, let limit = memoryLimitBytes, limit > 0 {
            memoryPct = Double(current) / Double(limit) * 100
        }
        cpuPct = beat.container.cpuPct ?? beat.host.cpuPct
        load1 = Self.sane(beat.host.load?.first)
        diskFreeBytes = beat.disk.freeBytes
        if let free = beat.disk.freeBytes, let total = beat.disk.totalBytes, total > 0 {
            diskFreePct = Double(free) / Double(total) * 100
        }
        gatewayOk = beat.gateway.ok

        let beatUnixS = Double(beat.ts.millisecondsSinceEpoch) / 1000
        containerCpuRatio = Self.sane(beat.container.cpuPct).map { $0 / 100 }
        hostCpuRatio = Self.sane(beat.host.cpuPct).map { $0 / 100 }
        cpuLimitCores = Self.sane(beat.container.cpuLimitCores)
        memoryWorkingSetBytes = beat.container.memWorkingSetBytes
        diskTotalBytes = beat.disk.totalBytes.flatMap { $0 > 0 ? $0 : nil }
        oomKills = beat.container.oomKills
        netRxBytes = beat.container.netRxBytes
        netTxBytes = beat.container.netTxBytes
        containerStartUnixS = Self.sane(beat.container.uptimeS).map { beatUnixS - $0 }.flatMap { $0 >= 0 ? $0 : nil }
        agentStartUnixS = Self.sane(beat.agent.uptimeS).map { beatUnixS - $0 }.flatMap { $0 >= 0 ? $0 : nil }
        gatewayLatencyS = beat.gateway.latencyMs.flatMap { $0 >= 0 ? Double($0) / 1000 : nil }
    }

    /// A figure as sent, unless it is negative or not finite (nothing the agent writes).
    static func sane(_ value: Double?) -> Double? {
        value.flatMap { $0.isFinite && $0 >= 0 ? $0 : nil }
    }
}
