import FleetProtocol
import MosquittoClient

/// One hatchling's answer to a `send`.
public struct SendAnswer: Sendable, Equatable, Encodable {
    /// The name in the response topic (the broker's ACL ties it to the publisher).
    public var hatchling: String
    /// False for a hatchling that was not asked or not counted on (a broadcast reaching one whose
    /// retained status was not online).
    public var expected: Bool
    /// Milliseconds from sending to this answer, as the hub saw it.
    public var latencyMs: Int
    /// True when the command ran and answered ok.
    public var ok: Bool
    /// The response, or nil when it could not be read.
    public var response: CommandResponse?
    /// What is wrong with an answer beyond `ok` false (unreadable, or naming another hatchling).
    public var problem: String?
}

/// Matches responses to the requests of one `send`: by MQTT 5 correlation data, else by `id`.
public struct SendTally: Sendable {
    public let command: FleetCommand
    /// The hatchlings counted on, in the order they are reported.
    public let expected: [HatchlingName]
    let root: String
    /// Request id → the hatchling it went to (nil: the broadcast topic).
    let requests: [String: HatchlingName?]
    let startedAt: Double
    private(set) var answers: [String: SendAnswer] = [:]
    private var arrival: [String] = []
    /// The expected names, for a lookup per answer that does not grow with the fleet.
    private let expectedNames: Set<String>
    private var expectedAnswered = 0

    public init(command: FleetCommand, expected: [HatchlingName], root: String, requests: [String: HatchlingName?], startedAt: Double) {
        self.command = command
        self.expected = expected
        self.root = root
        self.requests = requests
        self.startedAt = startedAt
        expectedNames = Set(expected.map(\.rawValue))
    }

    /// True once every expected hatchling has answered.
    public var isComplete: Bool { expectedAnswered == expectedNames.count }

    /// Takes a message if it answers one of our requests; returns whether it did.
    @discardableResult
    public mutating func accept(_ message: MQTTMessage, at now: Double) -> Bool {
        guard let (name, leaf) = FleetTopics.hatchlingName(inTopic: message.topic, root: root), leaf == "response" else {
            return false
        }
        let response = try? FleetJSON.decode(CommandResponse.self, from: message.payload)
        let correlated = message.correlationData.map { String(decoding: $0, as: UTF8.self) }
        guard let id = [correlated, response?.id].compactMap({ $0 }).first(where: { requests[$0] != nil }),
            let target = requests[id]
        else { return false }
        guard answers[name] == nil else { return true }  // a QoS 1 redelivery
        let addressed = target == nil || target?.rawValue == name
        var problem: String? = nil
        if response == nil {
            problem = "the answer is not a readable response"
        } else if let claimed = response?.hatchling.rawValue, claimed != name {
            problem = "the answer on \(name)'s topic names \(claimed)"
        }
        let isExpected = addressed && expectedNames.contains(name)
        if expectedNames.contains(name) { expectedAnswered += 1 }
        answers[name] = SendAnswer(
            hatchling: name, expected: isExpected,
            latencyMs: max(0, Int(((now - startedAt) * 1000).rounded())), ok: response?.ok == true && problem == nil,
            response: response, problem: problem)
        arrival.append(name)
        return true
    }

    /// The outcome so far (at the deadline: who did not answer is missing).
    public func report(signed: Bool, note: String? = nil) -> SendReport {
        let expectedNames = expected.map(\.rawValue)
        let answered = expectedNames.compactMap { answers[$0] } + arrival.compactMap { answers[$0] }.filter { !$0.expected }
        let missing = expectedNames.filter { answers[$0] == nil }
        return SendReport(command: command.rawValue, signed: signed, expected: expectedNames, answers: answered, missing: missing, note: note)
    }
}

/// The outcome of one `send`, for the table, `--json` and the exit status.
public struct SendReport: Sendable, Equatable, Encodable {
    public var command: String
    public var signed: Bool
    public var expected: [String]
    /// Expected hatchlings' answers in the order asked, then the others in arrival order.
    public var answers: [SendAnswer]
    /// Expected hatchlings that did not answer in time.
    public var missing: [String]
    /// Why nothing was expected, when nothing was.
    public var note: String?
    /// 0 all answered ok, 1 some answered with an error, 2 some did not answer (or none was asked).
    public var exitStatus: Int32

    public init(command: String, signed: Bool, expected: [String], answers: [SendAnswer], missing: [String], note: String?) {
        self.command = command
        self.signed = signed
        self.expected = expected
        self.answers = answers
        self.missing = missing
        self.note = note
        if !missing.isEmpty || expected.isEmpty {
            exitStatus = 2
        } else if answers.contains(where: { !$0.ok }) {
            exitStatus = 1
        } else {
            exitStatus = 0
        }
    }
}
