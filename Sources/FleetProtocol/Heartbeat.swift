/// Health of a hatchling, worst first in severity: `unhealthy` > `degraded` > `healthy`.
public enum HealthStatus: String, Sendable, Codable, Comparable, CaseIterable {
    case healthy
    case degraded
    case unhealthy

    var severity: Int {
        switch self {
        case .healthy: 0
        case .degraded: 1
        case .unhealthy: 2
        }
    }

    public static func < (lhs: HealthStatus, rhs: HealthStatus) -> Bool { lhs.severity < rhs.severity }
}

/// The retained telemetry on `fleet/<name>/heartbeat`. Every figure may be `null` when it could not be read.
public struct Heartbeat: Sendable, Equatable, Codable {
    public var v: Int = FleetProtocolVersion.current
    public var hatchling: HatchlingName
    public var bootId: String
    public var seq: UInt64
    public var ts: FleetTimestamp
    public var intervalS: Int
    public var health: HealthStatus
    public var agent: AgentSection
    public var host: HostSection
    public var container: ContainerSection
    public var disk: DiskSection
    public var gateway: GatewaySection

    public init(
        hatchling: HatchlingName, bootId: String, seq: UInt64, ts: FleetTimestamp, intervalS: Int,
        health: HealthStatus, agent: AgentSection, host: HostSection, container: ContainerSection,
        disk: DiskSection, gateway: GatewaySection
    ) {
        self.hatchling = hatchling
        self.bootId = bootId
        self.seq = seq
        self.ts = ts
        self.intervalS = intervalS
        self.health = health
        self.agent = agent
        self.host = host
        self.container = container
        self.disk = disk
        self.gateway = gateway
    }

    /// The agent process itself.
    public struct AgentSection: Sendable, Equatable, Codable {
        public var version: String
        @Nullable public var uptimeS: Double?
        @Nullable public var rssBytes: UInt64?
        @Nullable public var threads: UInt64?
        @Nullable public var openFds: UInt64?

        public init(version: String, uptimeS: Double?, rssBytes: UInt64?, threads: UInt64? = nil, openFds: UInt64? = nil) {
            self.version = version
            self.uptimeS = uptimeS
            self.rssBytes = rssBytes
            self.threads = threads
            self.openFds = openFds
        }
    }

    /// Host-wide figures (the kernel's view, shared by every container on the host).
    public struct HostSection: Sendable, Equatable, Codable {
        @Nullable public var uptimeS: Double?
        @Nullable public var load: [Double]?
        @Nullable public var memTotalBytes: UInt64?
        @Nullable public var memAvailableBytes: UInt64?
        @Nullable public var cpuPct: Double?

        public init(uptimeS: Double?, load: [Double]?, memTotalBytes: UInt64?, memAvailableBytes: UInt64?, cpuPct: Double?) {
            self.uptimeS = uptimeS
            self.load = load
            self.memTotalBytes = memTotalBytes
            self.memAvailableBytes = memAvailableBytes
            self.cpuPct = cpuPct
        }
    }

    /// The container's own figures (its cgroup, its PID 1).
    public struct ContainerSection: Sendable, Equatable, Codable {
        @Nullable public var uptimeS: Double?
        @Nullable public var memCurrentBytes: UInt64?
        /// Null when the container has no memory limit.
        @Nullable public var memLimitBytes: UInt64?
        /// `memCurrentBytes` less the inactive file pages (cAdvisor's working set): what the
        /// container cannot give back without swapping or an OOM kill. Added within version 1:
        /// absent from older agents' heartbeats, and then decoded as null.
        @Nullable public var memWorkingSetBytes: UInt64?
        @Nullable public var cpuPct: Double?
        @Nullable public var cpuLimitCores: Double?
        /// Processes the kernel's OOM killer ended in this cgroup.
        @Nullable public var oomKills: UInt64?
        /// Bytes received and sent on the container's network interfaces (loopback excluded).
        @Nullable public var netRxBytes: UInt64?
        @Nullable public var netTxBytes: UInt64?

        public init(
            uptimeS: Double?, memCurrentBytes: UInt64?, memLimitBytes: UInt64?, cpuPct: Double?, cpuLimitCores: Double?,
            oomKills: UInt64? = nil, netRxBytes: UInt64? = nil, netTxBytes: UInt64? = nil, memWorkingSetBytes: UInt64? = nil
        ) {
            self.uptimeS = uptimeS
            self.memCurrentBytes = memCurrentBytes
            self.memLimitBytes = memLimitBytes
            self.cpuPct = cpuPct
            self.cpuLimitCores = cpuLimitCores
            self.oomKills = oomKills
            self.netRxBytes = netRxBytes
            self.netTxBytes = netTxBytes
            self.memWorkingSetBytes = memWorkingSetBytes
        }
    }

    /// Space in the data directory's file system.
    public struct DiskSection: Sendable, Equatable, Codable {
        public var path: String
        @Nullable public var totalBytes: UInt64?
        @Nullable public var freeBytes: UInt64?

        public init(path: String, totalBytes: UInt64?, freeBytes: UInt64?) {
            self.path = path
            self.totalBytes = totalBytes
            self.freeBytes = freeBytes
        }
    }

    /// The last probe of the gateway's health endpoint.
    public struct GatewaySection: Sendable, Equatable, Codable {
        public var ok: Bool
        @Nullable public var httpStatus: Int?
        @Nullable public var latencyMs: Int?
        /// Why the probe failed (a short fixed phrase such as `connection refused`), absent when it worked.
        public var error: String?
        /// Seconds since this probe finished (heartbeats report the last probe; absent in a fresh probe).
        public var ageS: Double?

        public init(ok: Bool, httpStatus: Int?, latencyMs: Int?, error: String? = nil, ageS: Double? = nil) {
            self.ok = ok
            self.httpStatus = httpStatus
            self.latencyMs = latencyMs
            self.error = error
            self.ageS = ageS
        }
    }
}

/// The protocol version this package speaks (`v` in every payload, `protocol` in reports).
public enum FleetProtocolVersion {
    public static let current = 1
}
