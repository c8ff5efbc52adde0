import FleetProtocol

/// Decides whether an event from the local socket may go on the bus, in this order: its name and
/// the form of its data (refused without cost), the connection, the rate limit (`EVENT_RATE_LIMIT`
/// a minute, bursts of 10), then secrets. An event with a secret takes a token like a published
/// one: the refusal would otherwise be a free oracle for guessing the agent's password (one request
/// can test a hundred guesses). A flood of malformed events takes none, so it cannot starve the
/// good ones. Pure: the caller passes the time.
struct EventGate: Sendable {
    static let burst = 10

    private var bucket: TokenBucket
    private var perMinute: Double

    init(perMinute: Double) {
        self.perMinute = perMinute
        bucket = TokenBucket(rate: perMinute / 60, burst: Self.burst)
    }

    /// The data to publish (compacted), or why not.
    mutating func check(
        event: String, data: [UInt8], secrets: [[UInt8]], connected: Bool, perMinute: Double, now: Double
    ) -> Result<[UInt8], LocalProtocol.Failure> {
        if let refusal = EventPayload.checkName(event) ?? EventPayload.dataProblem(data[...]) {
            return .failure(LocalProtocol.Failure(LocalProtocol.Code(refusal.code), refusal.message))
        }
        guard connected else {
            return .failure(LocalProtocol.Failure(.notConnected, "the agent is not connected to the broker; nothing was published"))
        }
        if perMinute != self.perMinute {
            self.perMinute = perMinute
            bucket.reconfigure(rate: perMinute / 60, burst: Self.burst)
        }
        guard bucket.take(now: now) else {
            let limit = AgentConfiguration.format(perMinute)
            return .failure(
                LocalProtocol.Failure(.rateLimited, "more than \(limit) events a minute (bursts of \(Self.burst)); try again in a minute"))
        }
        return EventPayload.prepareData(data[...], name: event, secrets: secrets)
            .mapError { LocalProtocol.Failure(LocalProtocol.Code($0.code), $0.message) }
    }
}
