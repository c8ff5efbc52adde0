/// The responses to recently seen command ids, so that a redelivered command is answered again
/// without running twice. Bounded: at most `capacity` ids, none older than `lifetime` seconds.
public struct RecentResponses: Sendable {
    public let capacity: Int
    public let lifetime: Double
    private var entries: [String: (payload: [UInt8], at: Double)] = [:]
    private var order: [String] = []
    private var head = 0

    public init(capacity: Int = 1024, lifetime: Double = 600) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// The earlier response to `id`, if it is recent enough.
    public func response(for id: String, now: Double) -> [UInt8]? {
        guard let entry = entries[id], now - entry.at <= lifetime else { return nil }
        return entry.payload
    }

    public mutating func remember(_ payload: [UInt8], for id: String, now: Double) {
        if entries.updateValue((payload, now), forKey: id) == nil {
            order.append(id)
        }
        while entries.count > capacity, head < order.count {
            entries.removeValue(forKey: order[head])
            head += 1
        }
        if head > capacity {
            order.removeFirst(head)
            head = 0
        }
    }

    public var count: Int { entries.count }
}
