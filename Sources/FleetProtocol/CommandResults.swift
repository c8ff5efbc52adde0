/// `health-check`'s result: overall status and each check.
public struct HealthReport: Sendable, Equatable, Codable {
    public var status: HealthStatus
    public var checks: Checks

    public init(status: HealthStatus, checks: Checks) {
        self.status = status
        self.checks = checks
    }

    public struct Checks: Sendable, Equatable, Codable {
        public var gateway: Heartbeat.GatewaySection
        public var bus: BusCheck
        public var memory: MemoryCheck
        public var disk: DiskCheck

        public init(gateway: Heartbeat.GatewaySection, bus: BusCheck, memory: MemoryCheck, disk: DiskCheck) {
            self.gateway = gateway
            self.bus = bus
            self.memory = memory
            self.disk = disk
        }
    }

    /// The MQTT connection the command came in on.
    public struct BusCheck: Sendable, Equatable, Codable {
        public var ok: Bool
        public var `protocol`: String

        public init(ok: Bool, protocol: String) {
            self.ok = ok
            self.protocol = `protocol`
        }
    }

    /// Memory in use against the container's limit (or the host's memory when there is no limit).
    public struct MemoryCheck: Sendable, Equatable, Codable {
        public var ok: Bool
        @Nullable public var usedBytes: UInt64?
        @Nullable public var limitBytes: UInt64?
        @Nullable public var usedPct: Double?
        /// `container` when a cgroup limit applies, `host` otherwise.
        public var scope: String

        public init(ok: Bool, usedBytes: UInt64?, limitBytes: UInt64?, usedPct: Double?, scope: String) {
            self.ok = ok
            self.usedBytes = usedBytes
            self.limitBytes = limitBytes
            self.usedPct = usedPct
            self.scope = scope
        }
    }

    /// Free space of the data directory's file system.
    public struct DiskCheck: Sendable, Equatable, Codable {
        public var ok: Bool
        public var path: String
        @Nullable public var freeBytes: UInt64?
        @Nullable public var freePct: Double?

        public init(ok: Bool, path: String, freeBytes: UInt64?, freePct: Double?) {
            self.ok = ok
            self.path = path
            self.freeBytes = freeBytes
            self.freePct = freePct
        }
    }
}

/// `version-report`'s result.
public struct VersionReport: Sendable, Equatable, Codable {
    public var agent: String
    @Nullable public var openclaw: String?
    public var `protocol`: Int
    @Nullable public var image: String?

    public init(agent: String, openclaw: String?, protocol: Int = FleetProtocolVersion.current, image: String?) {
        self.agent = agent
        self.openclaw = openclaw
        self.protocol = `protocol`
        self.image = image
    }
}

/// `config-reload`'s result.
public struct ReloadReport: Sendable, Equatable, Codable {
    /// Every setting whose value in the file differs from the one in force, sorted.
    public var changed: [String]
    /// The part of `changed` that cannot change while running: left as it was until a restart.
    public var restartRequired: [String]
    /// SHA-256 of the configuration file's bytes, lowercase hex.
    public var configSha256: String

    public init(changed: [String], restartRequired: [String], configSha256: String) {
        self.changed = changed
        self.restartRequired = restartRequired
        self.configSha256 = configSha256
    }
}

/// The agent's own counters, in `status-report`.
public struct AgentCounters: Sendable, Equatable, Codable {
    /// Successful connections (CONNACK accepted) since start.
    public var connects: Int = 0
    /// Whether the broker still had the session on the last connect.
    @Nullable public var lastSessionPresent: Bool?
    /// Connects on which the broker still had the session.
    public var sessionsResumed: Int = 0
    /// Commands handled, by outcome: `ok` or an error code.
    public var commands: [String: Int] = [:]
    /// Commands that arrived after their `expires_at` (or MQTT 5 expiry).
    public var expired: Int = 0
    /// Commands whose id was seen recently, answered again without running.
    public var duplicates: Int = 0
    /// Messages not answered (a response that could not be published, an error response over its cap).
    public var dropped: Int = 0
    /// Configuration reloads that were applied / refused.
    public var reloads: Int = 0
    public var reloadFailures: Int = 0
    /// The last error worth an operator's attention, with no secret in it.
    @Nullable public var lastError: String?

    public init() {}
}

/// `status-report`'s result: the heartbeat's content plus the agent's counters.
public struct StatusReport: Sendable, Equatable, Codable {
    public var heartbeat: Heartbeat
    public var counters: AgentCounters

    public init(heartbeat: Heartbeat, counters: AgentCounters) {
        self.heartbeat = heartbeat
        self.counters = counters
    }

    enum CodingKeys: String, CodingKey {
        case counters
    }

    // Flat on the wire: the heartbeat's keys and `counters` side by side.
    public init(from decoder: any Decoder) throws {
        heartbeat = try Heartbeat(from: decoder)
        counters = try decoder.container(keyedBy: CodingKeys.self).decode(AgentCounters.self, forKey: .counters)
    }

    public func encode(to encoder: any Encoder) throws {
        try heartbeat.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(counters, forKey: .counters)
    }
}
