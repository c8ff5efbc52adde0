import MosquittoClient

/// Notices two clients with the same client id taking the session from each other.
///
/// The broker lets the newer connection take over the session and drops the older one; two agents
/// with the same id then reconnect and drop each other in a loop. mosquitto 2.0 closes the older
/// connection without a DISCONNECT (MQTT 5 brokers may send `sessionTakenOver`), so
/// what counts is an accepted connection lost without our asking: `threshold` of them within
/// `window` seconds is a ping-pong (or a link that drops every connection, also worth an error).
public struct TakeoverDetector: Sendable {
    public var threshold = 3
    public var window = 60.0
    private var recent: [Double] = []

    public init() {}

    /// How an accepted connection was lost, as far as the agent can tell.
    public enum Loss: Equatable, Sendable {
        /// We asked for it, or it ended cleanly.
        case requested
        /// The broker accepted the connection and dropped it before acknowledging the subscription:
        /// it cannot serve this session (a RabbitMQ node whose cluster keeps the session's queue on
        /// a node that is down; a subscription the broker's authorisation refuses by closing). Not
        /// another client: a client with the same id takes the session whole, and mosquitto, the
        /// only broker seen to drop silently on a takeover, acknowledges the subscription first.
        case droppedAtSubscription
        /// The broker said so (an MQTT 5 DISCONNECT with `sessionTakenOver`).
        case takenOver
        /// Lost after the subscription was acknowledged, with no reason given: a takeover if it
        /// keeps happening (`record`), else a network cut or a broker going down.
        case unexplained
    }

    /// Classifies the loss of an accepted connection.
    public static func classify(cause: MQTTDisconnect.Cause, requested: Bool, subscriptionAcknowledged: Bool) -> Loss {
        if requested || cause.isClean { return .requested }
        if cause == .broker(.sessionTakenOver) { return .takenOver }
        return subscriptionAcknowledged ? .unexplained : .droppedAtSubscription
    }

    /// Records how an accepted connection ended; true when the losses in the window reach the threshold.
    public mutating func record(cause: MQTTDisconnect.Cause, requested: Bool, at now: Double) -> Bool {
        recent.removeAll { now - $0 > window }
        guard !requested, !cause.isClean else { return false }
        recent.append(now)
        return cause == .broker(.sessionTakenOver) || recent.count >= threshold
    }

    /// A connection held longer than the other client's longest wait: whatever came before is over.
    public mutating func reset() {
        recent.removeAll()
    }
}
