import FleetProtocol

/// Decides whether an event from the local socket may go on the bus: its name, its data (size,
/// JSON, the agent's own credentials, credential shapes), the connection, then the rate limit
/// (`EVENT_RATE_LIMIT` a minute, bursts of 10). Only an event that would be published takes a
/// token, so a flood of bad ones cannot starve the good ones. Pure: the caller passes the time.
struct EventGate: Sendable {
    static let burst = 10

    private var bucket: TokenBucket
    private var perMinute: Double

    init(perMinute: Double) {
        self.perMinute = perMinute
        bucket = TokenBucket(rate: perMinute / 60, burst: Self.burst)
    }

    /// Nil when the event may be published now.
    mutating func check(
        event: String, data: [UInt8], secrets: [[UInt8]], connected: Bool, perMinute: Double, now: Double
    ) -> LocalProtocol.Failure? {
        if let refusal = EventPayload.checkName(event) ?? EventPayload.checkData(data[...], secrets: secrets) {
            return LocalProtocol.Failure(LocalProtocol.Code(refusal.code), refusal.message)
        }
        guard connected else {
            return LocalProtocol.Failure(.notConnected, "the agent is not connected to the broker; nothing was published")
        }
        if perMinute != self.perMinute {
            self.perMinute = perMinute
            bucket.reconfigure(rate: perMinute / 60, burst: Self.burst)
        }
        guard bucket.take(now: now) else {
            let limit = AgentConfiguration.format(perMinute)
            return LocalProtocol.Failure(.rateLimited, "more than \(limit) events a minute (bursts of \(Self.burst)); try again later")
        }
        return nil
    }
}
