import FleetProtocol
import FleetSigning
import Foundation
import MosquittoClient
import Synchronization

/// The hub side in tests: a real libmosquitto client that records every message it receives and
/// lets a test await the first one that matches, with a deadline.
final class TestHub: Sendable {
    let client: MQTTClient
    private let shared = Shared()
    private let pump: Task<Void, Never>

    private final class Shared: Sendable {
        let state = Mutex(State())
    }

    private struct State {
        var messages: [MQTTMessage] = []
        var acks: [Int32: MQTTReasonCode] = [:]
        var connected = false
        var waiters: [UUID: Waiter] = [:]
    }

    private struct Waiter {
        var matches: @Sendable (MQTTMessage) -> Bool
        var continuation: CheckedContinuation<MQTTMessage?, Never>
    }

    /// Connects with a fresh client id, subscribes to `topics`, and waits for both to be done.
    static func connect(
        to broker: TestBroker, topics: [String], protocolVersion: MQTTProtocolVersion = .v5, clientID: String? = nil,
        username: String? = nil, password: String? = nil, tls: MQTTTLSOptions? = nil, host: String = "127.0.0.1", port: Int? = nil,
        cleanSession: Bool = true
    ) async throws -> TestHub {
        try await connect(
            host: host, port: port ?? broker.port, topics: topics, protocolVersion: protocolVersion, clientID: clientID,
            username: username, password: password, tls: tls, cleanSession: cleanSession)
    }

    /// The same, to any broker (RabbitMQ nodes have no `TestBroker`).
    static func connect(
        host: String = "127.0.0.1", port: Int, topics: [String], protocolVersion: MQTTProtocolVersion = .v5, clientID: String? = nil,
        username: String? = nil, password: String? = nil, tls: MQTTTLSOptions? = nil, cleanSession: Bool = true
    ) async throws -> TestHub {
        let client = try MQTTClient(
            options: MQTTClientOptions(
                clientID: clientID ?? "test-hub-\(UUID().uuidString.prefix(8))", protocolVersion: protocolVersion,
                cleanSession: cleanSession, username: username, password: password, tls: tls))
        let hub = TestHub(client: client)
        client.connect(to: MQTTEndpoint(host: host, port: port), keepalive: 30)
        try await hub.waitUntil("hub connected") { $0.connected }
        let ids = try client.subscribe(topics, qos: 1)
        try await hub.waitUntil("hub subscribed") { state in ids.allSatisfy { state.acks[$0] != nil } }
        return hub
    }

    private init(client: MQTTClient) {
        self.client = client
        let shared = self.shared
        pump = Task {
            let state = shared
            for await event in client.events {
                switch event {
                case .connAck(let ack):
                    state.state.withLock { $0.connected = ack.accepted }
                case .subscribed(let mid, _):
                    state.state.withLock { $0.acks[mid] = .success }
                case .published(let mid, let reasonCode):
                    state.state.withLock { $0.acks[mid] = reasonCode }
                case .message(let message):
                    let ready = state.state.withLock { s -> [CheckedContinuation<MQTTMessage?, Never>] in
                        s.messages.append(message)
                        let matched = s.waiters.filter { $0.value.matches(message) }
                        for key in matched.keys { s.waiters.removeValue(forKey: key) }
                        return matched.values.map(\.continuation)
                    }
                    ready.forEach { $0.resume(returning: message) }
                case .disconnected:
                    state.state.withLock { $0.connected = false }
                }
            }
        }
    }

    deinit {
        pump.cancel()
    }

    func close() {
        client.close()
    }

    /// Every message received so far.
    var messages: [MQTTMessage] { shared.state.withLock { $0.messages } }

    /// The first message (already received or arriving within `timeout`) that matches.
    func waitForMessage(
        _ what: String, timeout: Double = 15, where matches: @escaping @Sendable (MQTTMessage) -> Bool
    ) async throws -> MQTTMessage {
        let id = UUID()
        let message: MQTTMessage? = await withCheckedContinuation { continuation in
            let existing = shared.state.withLock { s -> MQTTMessage? in
                if let found = s.messages.first(where: matches) { return found }
                s.waiters[id] = Waiter(matches: matches, continuation: continuation)
                return nil
            }
            if let existing {
                continuation.resume(returning: existing)
                return
            }
            Task { [shared] in
                try? await Task.sleep(for: .seconds(timeout))
                let waiter = shared.state.withLock { $0.waiters.removeValue(forKey: id) }
                waiter?.continuation.resume(returning: nil)
            }
        }
        guard let message else { throw TestError("no \(what) within \(timeout) s; got: \(summary())") }
        return message
    }

    /// A response on `topic` matching the predicate, decoded.
    func waitForResponse(
        on topic: String, _ what: String, timeout: Double = 15, where matches: @escaping @Sendable (CommandResponse) -> Bool = { _ in true }
    ) async throws -> CommandResponse {
        let message = try await waitForMessage(what, timeout: timeout) { message in
            message.topic == topic && (try? FleetJSON.decode(CommandResponse.self, from: message.payload)).map(matches) == true
        }
        return try FleetJSON.decode(CommandResponse.self, from: message.payload)
    }

    /// Waits for `<root>/<name>/status` to say online (the agent has subscribed by then).
    @discardableResult
    func waitOnline(_ name: String, root: String = "fleet") async throws -> StatusPayload {
        let message = try await waitForMessage("\(name) online") { message in
            message.topic == "\(root)/\(name)/status" && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .online
        }
        return try FleetJSON.decode(StatusPayload.self, from: message.payload)
    }

    func publish(_ topic: String, _ text: String, correlationData: [UInt8]? = nil, retain: Bool = false) throws {
        try client.publish(
            topic: topic, payload: Array(text.utf8), qos: 1, retain: retain,
            properties: MQTTPublishProperties(correlationData: correlationData))
    }

    func publish(_ topic: String, bytes: [UInt8]) throws {
        try client.publish(topic: topic, payload: bytes, qos: 1)
    }

    /// Publishes at QoS 1 and returns the PUBACK's reason code (MQTT 5: `notAuthorized` when the ACL denies it).
    func publishAndWaitForAck(_ topic: String, _ text: String) async throws -> MQTTReasonCode {
        let mid = try client.publish(topic: topic, payload: Array(text.utf8), qos: 1)
        try await waitUntil("PUBACK of \(topic)") { $0.acks[mid] != nil }
        return shared.state.withLock { $0.acks[mid]! }
    }

    /// Awaits a condition on the hub's own state (connection, acknowledgements).
    /// The reason code of the PUBACK for `mid`, if one reached `events`.
    func ack(for mid: Int32) -> MQTTReasonCode? { shared.state.withLock { $0.acks[mid] } }

    /// Waits until the PUBACK for `mid` has reached `events`; returns its reason code.
    func waitForAck(_ mid: Int32) async throws -> MQTTReasonCode {
        try await waitUntil("PUBACK of message \(mid)") { $0.acks[mid] != nil }
        return shared.state.withLock { $0.acks[mid]! }
    }

    private func waitUntil(_ what: String, timeout: Double = 15, _ condition: @Sendable (State) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !shared.state.withLock({ condition($0) }) {
            guard Date() < deadline else { throw TestError("\(what): not within \(timeout) s") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    func summary() -> String {
        messages.suffix(12).map { "\($0.topic) \(String(decoding: $0.payload.prefix(160), as: UTF8.self))" }.joined(separator: "\n  ")
    }
}

/// A JSON command signed with `key` for hatchling `name`, as the hub signs it (docs/protocol.md).
func signedCommand(_ key: CommandKey, name: String, id: String, command: String, ts: FleetTimestamp = .now()) -> String {
    let sig = CommandSignature.sign(key: key, name: name, id: id, command: command, ts: ts.description, expiresAt: nil)
    return #"{"command":"\#(command)","id":"\#(id)","ts":"\#(ts.description)","sig":"\#(sig)"}"#
}
