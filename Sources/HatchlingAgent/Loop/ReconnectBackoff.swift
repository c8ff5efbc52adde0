/// Capped exponential backoff with full jitter: the n-th wait is uniform in
/// [0, min(cap, initial * 2^n)], so a fleet that lost its broker does not return in lockstep.
///
/// Given how long the broker has been out of reach, the ceiling is also at most that long (and at
/// least `initial`): failed attempts come fast against a refused port, so after a one-second
/// broker restart the exponent alone had reached 8 or 16 s, and an agent stayed away for up to
/// 17 s (docs/benchmarks.md). With the bound, it is back within about twice the outage, and a
/// fleet still spreads its returns over the whole outage.
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

    /// The next wait in seconds; `random` draws from a range (injectable for tests). `outage`: seconds
    /// since the broker was last reachable (nil: no bound beyond the exponent and the cap).
    public mutating func next(outage: Double? = nil, random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }) -> Double {
        let bound = outage.map { min(ceiling, max(initial, $0)) } ?? ceiling
        let wait = random(0...bound)
        attempt += 1
        return wait
    }

    /// After a connection that held: start again from `initial`.
    public mutating func reset() {
        attempt = 0
    }
}
