/// A token bucket: `rate` tokens a second up to `burst`. A rate of 0 lets everything through.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var rate: Double
    public private(set) var burst: Double
    private var tokens: Double
    private var updatedAt: Double?

    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(burst, 1))
        self.tokens = Double(max(burst, 1))
    }

    /// Changes the limits, keeping the tokens already earned (up to the new burst).
    public mutating func reconfigure(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = Double(max(burst, 1))
        tokens = min(tokens, self.burst)
    }

    /// Takes one token if there is one at time `now` (seconds, monotonic).
    public mutating func take(now: Double) -> Bool {
        guard rate > 0 else { return true }
        if let updatedAt, now > updatedAt {
            tokens = min(burst, tokens + (now - updatedAt) * rate)
        }
        updatedAt = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
