/// Notices two clients with the same client id taking the session from each other.
///
/// The broker lets the newer connection take over the session and drops the older one; two agents
/// with the same id then reconnect and drop each other in a loop. mosquitto 2.0 closes the older
/// connection without a DISCONNECT (MQTT 5 brokers may send reason 142, "Session taken over"), so
/// what counts is an accepted connection lost without our asking: `threshold` of them within
/// `window` seconds is a ping-pong (or a link that drops every connection, also worth an error).
public struct TakeoverDetector: Sendable {
    public var threshold = 3
    public var window = 60.0
    private var recent: [Double] = []

    public init() {}

    /// The MQTT 5 reason code of a DISCONNECT that means another client took the session.
    public static let sessionTakenOver: Int32 = 142

    /// Records how an accepted connection ended; true when the losses in the window reach the threshold.
    public mutating func record(code: Int32, requested: Bool, at now: Double) -> Bool {
        recent.removeAll { now - $0 > window }
        guard !requested, code != 0 else { return false }
        recent.append(now)
        return code == Self.sessionTakenOver || recent.count >= threshold
    }

    /// A connection held longer than the other client's longest wait: whatever came before is over.
    public mutating func reset() {
        recent.removeAll()
    }
}
