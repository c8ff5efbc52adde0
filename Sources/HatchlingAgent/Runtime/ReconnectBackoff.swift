/// Capped exponential backoff with full jitter: the n-th wait is uniform in
/// [0, min(cap, initial * 2^n)], so a fleet that lost its broker does not return in lockstep.
public struct ReconnectBackoff: Sendable {
    public var initial: Double
    public var cap: Double
    public private(set) var attempt = 0

    public init(initial: Double = 0.5, cap: Double) {
        self.initial = initial
        self.cap = cap
    }

    /// The ceiling of the next wait, before jitter.
    public var ceiling: Double { min(cap, initial * Double(1 << min(attempt, 30))) }

    /// The next wait in seconds; `random` draws from a range (injectable for tests).
    public mutating func next(random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Double {
        let wait = random(0...ceiling)
        attempt += 1
        return wait
    }

    /// After a connection that held: start again from `initial`.
    public mutating func reset() {
        attempt = 0
    }
}
