/// Which MQTT version to speak with each broker of a list, under `MQTT_PROTOCOL`, learned from
/// how each attempt ended. Shared by the agent's reconnect loop and fleetctl's connection.
///
/// Under `auto`, a broker is tried with MQTT 5 first. Brokers that speak only 3.1.1 answer an
/// MQTT 5 CONNECT in three ways: a refusal ("unacceptable protocol version", mosquitto's 3.1.1
/// mode), closing the connection (RabbitMQ 3.10), or silence (amqtt). After any of these the
/// broker is spoken to in 3.1.1 for as long as the process lives. A broker that once accepted
/// MQTT 5 is not moved to 3.1.1 by a connection that drops early (a restart, a cut): only by an
/// explicit refusal. `5` and `3.1.1` mean that version only, whatever happens.
public struct ProtocolNegotiator: Sendable {
    public let choice: MQTTProtocolChoice
    private var learned: [MQTTEndpoint: MQTTProtocolVersion] = [:]
    /// Brokers whose learned version has been accepted at least once (not only guessed).
    private var confirmed: Set<MQTTEndpoint> = []
    /// Brokers whose fallback has been reported: it is logged once per broker, not per attempt.
    private var announced: Set<MQTTEndpoint> = []

    public init(choice: MQTTProtocolChoice) {
        self.choice = choice
    }

    /// A fall back to 3.1.1 the caller should act on: retry at once, and log `reason` when `firstTime`.
    public struct Fallback: Sendable, Equatable {
        public var reason: String
        public var firstTime: Bool
    }

    /// The version to use for the next attempt with `endpoint`.
    public func version(for endpoint: MQTTEndpoint) -> MQTTProtocolVersion {
        switch choice {
        case .v5: .v5
        case .v311: .v311
        case .auto: learned[endpoint] ?? .v5
        }
    }

    /// Records an accepted CONNACK: the broker speaks `version`.
    public mutating func accepted(_ endpoint: MQTTEndpoint, version: MQTTProtocolVersion) {
        guard choice == .auto else { return }
        learned[endpoint] = version
        confirmed.insert(endpoint)
    }

    /// Records a refused CONNACK; a fallback when the refusal was for MQTT 5 itself.
    public mutating func refused(_ endpoint: MQTTEndpoint, _ ack: MQTTConnAck) -> Fallback? {
        guard choice == .auto, ack.refusedProtocolVersion else { return nil }
        return fallBack(endpoint, reason: "refused MQTT 5 (\(ack.reason))")
    }

    /// Records how an attempt ended; a fallback when an MQTT 5 CONNECT got no CONNACK at all.
    public mutating func ended(_ endpoint: MQTTEndpoint, _ ending: MQTTDisconnect, version: MQTTProtocolVersion) -> Fallback? {
        guard choice == .auto, ending.endedBeforeConnAck, !ending.requested else { return nil }
        switch (version, learned[endpoint]) {
        case (.v5, nil):
            let reason =
                ending.connAckTimedOut
                ? "sent no answer to an MQTT 5 CONNECT within the connect timeout"
                : "closed the connection on an MQTT 5 CONNECT without answering"
            return fallBack(endpoint, reason: reason)
        case (.v311, .v311?) where !confirmed.contains(endpoint):
            // A guessed 3.1.1 got no answer either: the broker answers nothing right now, so the
            // guess is dropped and the next attempt starts from MQTT 5 again.
            learned[endpoint] = nil
            return nil
        default:
            return nil
        }
    }

    private mutating func fallBack(_ endpoint: MQTTEndpoint, reason: String) -> Fallback {
        learned[endpoint] = .v311
        let firstTime = announced.insert(endpoint).inserted
        return Fallback(reason: reason, firstTime: firstTime)
    }
}
