/// The retained state on `fleet/<name>/status`: online on connect, offline as Last Will or on shutdown.
public struct StatusPayload: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable {
        case online
        case offline
    }

    /// Why a hatchling is offline.
    public enum OfflineReason: String, Sendable, Codable {
        /// Published by the broker as the Last Will: the connection was lost without DISCONNECT.
        case lost
        /// Published by the agent itself before a clean disconnect.
        case shutdown
    }

    public var v: Int = FleetProtocolVersion.current
    public var state: State
    public var reason: OfflineReason?
    public var ts: FleetTimestamp?
    public var bootId: String
    public var agentVersion: String?
    public var `protocol`: Int?
    public var commands: [FleetCommand]?
    public var heartbeatIntervalS: Int?

    /// `online`, with what the hub needs to know about this run.
    public static func online(bootId: String, at ts: FleetTimestamp, agentVersion: String, heartbeatIntervalS: Int) -> StatusPayload {
        StatusPayload(
            state: .online, reason: nil, ts: ts, bootId: bootId, agentVersion: agentVersion,
            protocol: FleetProtocolVersion.current, commands: FleetCommand.allCases, heartbeatIntervalS: heartbeatIntervalS)
    }

    /// The Last Will: no time, since the broker sends it later, whenever the loss is noticed.
    public static func lost(bootId: String) -> StatusPayload {
        StatusPayload(state: .offline, reason: .lost, ts: nil, bootId: bootId)
    }

    /// Announced on SIGTERM/SIGINT before a clean disconnect (which sends no will).
    public static func shutdown(bootId: String, at ts: FleetTimestamp) -> StatusPayload {
        StatusPayload(state: .offline, reason: .shutdown, ts: ts, bootId: bootId)
    }

    public init(
        state: State, reason: OfflineReason?, ts: FleetTimestamp?, bootId: String, agentVersion: String? = nil,
        protocol: Int? = nil, commands: [FleetCommand]? = nil, heartbeatIntervalS: Int? = nil
    ) {
        self.state = state
        self.reason = reason
        self.ts = ts
        self.bootId = bootId
        self.agentVersion = agentVersion
        self.protocol = `protocol`
        self.commands = commands
        self.heartbeatIntervalS = heartbeatIntervalS
    }
}
