import MosquittoClient

/// The fleet's last events, for `watch`: at most `limit`, the oldest dropped first, so a
/// hatchling that floods events costs the hub a few kilobytes, never more.
public struct RecentEvents: Sendable, Equatable {
    public let limit: Int
    /// The longest line shown, in characters: an event's data may be 2 KB, and a line that wraps
    /// breaks the screen's layout.
    public let width: Int
    /// Oldest first.
    public private(set) var events: [FleetEvent] = []
    /// Messages on event topics that were not events of the contract (`fleetctl events` says why).
    public private(set) var malformed = 0

    public init(limit: Int = 5, width: Int = 160) {
        self.limit = limit
        self.width = width
    }

    /// Takes `message` when it is on an event topic; returns whether it was.
    @discardableResult
    public mutating func apply(_ message: MQTTMessage, root: String) -> Bool {
        switch FleetEvent.read(message, root: root) {
        case .event(let event):
            events.append(event)
            if events.count > limit { events.removeFirst(events.count - limit) }
            return true
        case .malformed:
            malformed += 1
            return true
        case .other:
            return false
        }
    }

    /// The lines under the table: a heading and the events, newest last; nothing before the first.
    public func text() -> String {
        guard !events.isEmpty || malformed > 0 else { return "" }
        var text = "LAST EVENTS\n"
        for event in events {
            let line = event.line
            text += (line.count > width ? String(line.prefix(width - 1)) + "…" : line) + "\n"
        }
        if malformed > 0 {
            text += "\(malformed) malformed event\(malformed == 1 ? "" : "s") not shown (fleetctl events says why)\n"
        }
        return text
    }
}
