import FleetProtocol

/// The agent's local socket protocol, version 1 (docs/protocol.md, "Local socket").
///
/// One request per connection, one line each way. The client writes one JSON object and a newline:
///
///     {"v":1,"op":"publish","event":"task-done","data":{"task":"nightly"}}
///     {"v":1,"op":"health"}
///
/// and reads one JSON object and a newline: `{"ok":true,"seq":7,"v":1}`, or
/// `{"code":"secret","error":"…","ok":false,"v":1}`. Only these two operations exist; nothing
/// the client sends is run, and nothing but a checked event reaches the bus.
public enum LocalProtocol {
    public static let version = 1
    /// The longest request line, newline included: an event at its limits fits with room to spare.
    public static let maximumRequestBytes = 4096
    /// The default socket (`HATCHLING_AGENT_SOCKET`).
    public static let defaultSocket = "/run/hatchling-agent/agent.sock"

    public enum Request: Sendable, Equatable {
        /// `data` is the object's bytes as sent (`{}` when the request has none).
        case publish(event: String, data: [UInt8])
        case health
    }

    /// Why a request gets no further; `code` is its wire name.
    public enum Code: String, Sendable, CaseIterable {
        case badRequest = "bad-request"
        case unsupportedVersion = "unsupported-version"
        case badName = "bad-name"
        case badData = "bad-data"
        case tooLarge = "too-large"
        case secret
        case rateLimited = "rate-limited"
        case notConnected = "not-connected"
        case brokerRefused = "broker-refused"
        case timeout
        case busy

        /// The refusals that are the request's fault: `publish` exits 1 for these, 3 for the others
        /// (the agent or the broker could not take it now; trying again later may work).
        public var isRefusal: Bool {
            switch self {
            case .badRequest, .unsupportedVersion, .badName, .badData, .tooLarge, .secret, .rateLimited: true
            case .notConnected, .brokerRefused, .timeout, .busy: false
            }
        }

        init(_ refusal: EventPayload.Refusal.Code) {
            switch refusal {
            case .badName: self = .badName
            case .badData: self = .badData
            case .tooLarge: self = .tooLarge
            case .secret: self = .secret
            case .rateLimited: self = .rateLimited
            }
        }
    }

    public struct Failure: Error, Sendable, Equatable {
        public var code: Code
        public var message: String

        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }
    }

    /// Reads one request line (without its newline).
    public static func parse(_ line: ArraySlice<UInt8>) -> Result<Request, Failure> {
        if line.count >= maximumRequestBytes {
            return .failure(Failure(.tooLarge, "the request is over \(maximumRequestBytes) bytes"))
        }
        guard let fields = JSONScan.fields(line) else {
            return .failure(Failure(.badRequest, "the request must be one JSON object on one line"))
        }
        func raw(_ key: String) -> ArraySlice<UInt8>? { fields.first { $0.key == key }.map { line[$0.range] } }
        guard let version = raw("v"), version.elementsEqual("1".utf8) else {
            if raw("v") == nil { return .failure(Failure(.badRequest, "the request has no \"v\"")) }
            return .failure(Failure(.unsupportedVersion, "this agent speaks version \(Self.version) of the local protocol"))
        }
        guard let op = raw("op").flatMap({ JSONScan.string($0) }) else {
            return .failure(Failure(.badRequest, "the request has no \"op\" string"))
        }
        switch op {
        case "health":
            guard fields.count == 2 else { return .failure(Failure(.badRequest, "health takes no other field")) }
            return .success(.health)
        case "publish":
            if let extra = fields.first(where: { !["v", "op", "event", "data"].contains($0.key) }) {
                return .failure(Failure(.badRequest, "publish has no field \"\(extra.key.prefix(64))\""))
            }
            guard let event = raw("event").flatMap({ JSONScan.string($0) }) else {
                return .failure(Failure(.badName, "publish needs an \"event\" string"))
            }
            let data = raw("data") ?? Array("{}".utf8)[...]
            guard data.first == UInt8(ascii: "{") else { return .failure(Failure(.badData, "the data must be a JSON object")) }
            return .success(.publish(event: event, data: Array(data)))
        default:
            return .failure(Failure(.badRequest, "there is no operation \"\(op.prefix(64))\" (only publish and health)"))
        }
    }

    /// The request line for `request`, newline included.
    public static func encode(_ request: Request) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        switch request {
        case .health:
            writer.key("op")
            writer.string("health")
        case .publish(let event, let data):
            writer.key("data")
            writer.raw(data)
            writer.key("event")
            writer.string(event)
            writer.key("op")
            writer.string("publish")
        }
        writer.key("v")
        writer.number(version)
        writer.endObject()
        return writer.bytes + [0x0A]
    }

    /// The agent's answer.
    public enum Answer: Sendable, Equatable {
        case published(seq: UInt64)
        case health(Health)
        case failed(Failure)
    }

    /// What `health` reports.
    public struct Health: Sendable, Equatable {
        public var hatchling: String
        public var connected: Bool
        /// Seconds since the last heartbeat went out; nil before the first.
        public var heartbeatAge: Double?
        public var heartbeatInterval: Int

        public init(hatchling: String, connected: Bool, heartbeatAge: Double?, heartbeatInterval: Int) {
            self.hatchling = hatchling
            self.connected = connected
            self.heartbeatAge = heartbeatAge
            self.heartbeatInterval = heartbeatInterval
        }

        /// Connected, and a heartbeat went out within two intervals (and a few seconds of slack).
        public var isHealthy: Bool {
            guard connected, let heartbeatAge else { return false }
            return heartbeatAge <= Double(2 * heartbeatInterval) + 5
        }

        /// One line for people: why it is healthy or not.
        public var summary: String {
            if !connected { return "\(hatchling): not connected to the broker" }
            guard let heartbeatAge else { return "\(hatchling): connected, no heartbeat sent yet" }
            let age = (heartbeatAge * 10).rounded() / 10
            if !isHealthy { return "\(hatchling): connected, but the last heartbeat went out \(age) s ago (interval \(heartbeatInterval) s)" }
            return "\(hatchling): connected, last heartbeat \(age) s ago"
        }
    }

    /// The answer line for `answer`, newline included.
    public static func encode(_ answer: Answer) -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.beginObject()
        switch answer {
        case .published(let seq):
            writer.key("ok")
            writer.bool(true)
            writer.key("seq")
            writer.number(seq)
        case .health(let health):
            writer.key("connected")
            writer.bool(health.connected)
            writer.key("hatchling")
            writer.string(health.hatchling)
            writer.key("heartbeat_age_s")
            if let age = health.heartbeatAge { writer.number((age * 1000).rounded() / 1000) } else { writer.null() }
            writer.key("heartbeat_interval_s")
            writer.number(health.heartbeatInterval)
            writer.key("ok")
            writer.bool(health.isHealthy)
        case .failed(let failure):
            writer.key("code")
            writer.string(failure.code.rawValue)
            writer.key("error")
            writer.string(failure.message)
            writer.key("ok")
            writer.bool(false)
        }
        writer.key("v")
        writer.number(version)
        writer.endObject()
        return writer.bytes + [0x0A]
    }

    /// Reads the agent's answer line (for `publish` and `health`); nil when it is not one.
    public static func parseAnswer(_ line: ArraySlice<UInt8>) -> Answer? {
        guard let fields = JSONScan.fields(line) else { return nil }
        func raw(_ key: String) -> ArraySlice<UInt8>? { fields.first { $0.key == key }.map { line[$0.range] } }
        func text(_ key: String) -> String? { raw(key).flatMap { JSONScan.string($0) } }
        func number(_ key: String) -> Double? { raw(key).flatMap { Double(String(decoding: $0, as: UTF8.self)) } }
        if let code = text("code") {
            guard let known = Code(rawValue: code) else { return nil }
            return .failed(Failure(known, text("error") ?? ""))
        }
        if let hatchling = text("hatchling") {
            return .health(
                Health(
                    hatchling: hatchling, connected: raw("connected").map { $0.elementsEqual("true".utf8) } ?? false,
                    heartbeatAge: number("heartbeat_age_s"), heartbeatInterval: Int(number("heartbeat_interval_s") ?? 0)))
        }
        if let seq = raw("seq").flatMap({ UInt64(String(decoding: $0, as: UTF8.self)) }) { return .published(seq: seq) }
        return nil
    }

    /// Checks a socket path: absolute, and short enough for `sockaddr_un` (107 bytes).
    public static func socketPathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "must be an absolute path" }
        guard path.utf8.count <= 107 else { return "must be at most 107 bytes (a Unix socket's limit)" }
        guard !path.hasSuffix("/") else { return "must name a socket, not a folder" }
        return nil
    }
}
