import FleetProtocol
import FleetSigning
import MosquittoClient

/// One finding about a message: a short code and what it means.
public struct AuditFinding: Sendable, Equatable, Encodable {
    /// `off-contract-topic`, `not-json`, `schema`, `unknown-field`, `secret`, `impersonation`,
    /// `retained`, or `bad-command`.
    public var code: String
    public var detail: String

    /// A finding with its code and explanation.
    public init(_ code: String, _ detail: String) {
        self.code = code
        self.detail = detail
    }
}

/// One line of the audit log: what passed on the bus (its digest, never its content) and the verdict.
public struct AuditRecord: Sendable, Equatable, Encodable {
    /// When the hub received it.
    public var time: FleetTimestamp
    public var topic: String
    /// `command`, `response`, `heartbeat`, `status`, `event`, `broadcast`, or `other`.
    public var kind: String
    /// The name segment of `<root>/<name>/<leaf>`, when the topic has one.
    public var hatchling: String?
    public var size: Int
    public var qos: Int
    public var retain: Bool
    /// Lowercase hex SHA-256 of the payload.
    public var sha256: String
    /// `ok`, or `flagged` when `findings` is not empty.
    public var verdict: String
    public var findings: [AuditFinding]
}

/// Checks one message against the bus contract (`docs/protocol.md`). Pure: no I/O, no clock.
public struct AuditInspector: Sendable {
    /// The topic root and broadcast topic in force.
    public let root: String
    public let broadcast: String

    /// An inspector for one bus's topics.
    public init(root: String, broadcast: String) {
        self.root = root
        self.broadcast = broadcast
    }

    /// The kind of topic and the hatchling it names; `other` for a topic outside the contract.
    public func classify(_ topic: String) -> (kind: String, hatchling: String?) {
        if topic == broadcast { return ("broadcast", nil) }
        guard let (name, leaf) = FleetTopics.hatchlingName(inTopic: topic, root: root) else { return ("other", nil) }
        guard (try? HatchlingName(validating: name)) != nil, ["command", "response", "heartbeat", "status", "event"].contains(leaf) else {
            return ("other", name.isEmpty ? nil : name)
        }
        return (leaf, name)
    }

    /// The record for `message`, received at `time`.
    public func inspect(_ message: MQTTMessage, at time: FleetTimestamp) -> AuditRecord {
        let (kind, hatchling) = classify(message.topic)
        var findings: [AuditFinding] = []
        if kind == "other" {
            findings.append(
                AuditFinding(
                    "off-contract-topic",
                    "only \(root)/<name>/{command,response,heartbeat,status,event} and \(broadcast) belong to the fleet bus"))
        }
        if message.retain, ["command", "response", "event", "broadcast"].contains(kind) {
            findings.append(AuditFinding("retained", "a retained \(kind) is delivered again to every new subscriber"))
        }
        switch kind {
        case "command", "broadcast":
            if case .failure(let rejection) = CommandParser.parse(message.payload) {
                findings.append(AuditFinding("bad-command", "\(rejection.code.rawValue): \(rejection.message)"))
            }
        case "response", "heartbeat", "status":
            findings += checkPayload(message.payload, kind: kind, hatchling: hatchling ?? "")
        case "event":
            findings += checkEvent(message.payload)
        default:
            break
        }
        var secrets = SecretScanner.scan(Array(message.topic.utf8) + [0x20] + message.payload)
        if kind == "event", secrets.isEmpty, let strings = JSONScan.strings(message.payload[...]) {
            // An event's data is the gateway's free text: a key hidden behind JSON escapes (\u0073k-…) counts too.
            secrets = SecretScanner.scan(Array(strings.joined(separator: " ").utf8))
        }
        for kind in secrets {
            findings.append(AuditFinding("secret", "looks like \(kind); no secret may cross the bus (ADR-005)"))
        }
        return AuditRecord(
            time: time, topic: message.topic, kind: kind, hatchling: hatchling, size: message.payload.count, qos: message.qos,
            retain: message.retain, sha256: PayloadDigest.sha256Hex(message.payload), verdict: findings.isEmpty ? "ok" : "flagged",
            findings: findings)
    }

    /// JSON due, decoded strictly: no unknown keys, and the `hatchling` it names is the topic's.
    func checkPayload(_ payload: [UInt8], kind: String, hatchling: String) -> [AuditFinding] {
        // An empty retained message is how a retained status or heartbeat is deleted.
        if payload.isEmpty, kind != "response" { return [] }
        guard let json = JSONValue.parse(payload), case .object = json else {
            return [AuditFinding("not-json", "a \(kind) must be a JSON object")]
        }
        var findings: [AuditFinding] = []
        if case .string(let claimed)? = json["hatchling"], claimed != hatchling {
            findings.append(AuditFinding("impersonation", "the payload names '\(claimed)' on \(hatchling)'s topic"))
        }
        let known: JSONValue?
        do {
            known = try reencoded(payload, kind: kind)
        } catch {
            findings.append(AuditFinding("schema", "not a valid \(kind) payload: \(Self.describe(error))"))
            known = nil
        }
        if let known {
            let extra = json.keys(notIn: known)
            if !extra.isEmpty {
                findings.append(AuditFinding("unknown-field", "fields outside the \(kind) schema: " + extra.joined(separator: ", ")))
            }
        }
        return findings
    }

    /// An event against the contract (`EventPayload.problems`): fields outside it are
    /// `unknown-field`, every other problem `schema`.
    func checkEvent(_ payload: [UInt8]) -> [AuditFinding] {
        guard JSONScan.fields(payload[...]) != nil else {
            return [AuditFinding("not-json", "an event must be one JSON object (RFC 8259, no key twice)")]
        }
        let problems = EventPayload.problems(payload)
        let prefix = "unknown field "
        let unknown = problems.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
        let other = problems.filter { !$0.hasPrefix(prefix) }
        var findings: [AuditFinding] = []
        if !unknown.isEmpty {
            findings.append(AuditFinding("unknown-field", "fields outside the event schema: " + unknown.joined(separator: ", ")))
        }
        if !other.isEmpty {
            findings.append(AuditFinding("schema", "not a valid event payload: " + other.joined(separator: "; ")))
        }
        return findings
    }

    /// The payload decoded into its type and encoded again: every key the schema knows.
    func reencoded(_ payload: [UInt8], kind: String) throws -> JSONValue? {
        let bytes: [UInt8]
        switch kind {
        case "status": bytes = FleetJSON.encode(try FleetJSON.decode(StatusPayload.self, from: payload))
        case "heartbeat": bytes = FleetJSON.encode(try FleetJSON.decode(Heartbeat.self, from: payload))
        default: bytes = FleetJSON.encode(try FleetJSON.decode(CommandResponse.self, from: payload))
        }
        return JSONValue.parse(bytes)
    }

    /// A decoding error in a few words: which key, what was wrong.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return keys.isEmpty ? "the payload" : keys
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context)).\(key.stringValue) is missing"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context)) has the wrong type"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
