/// The topics of one hatchling, from its name, the topic root and the broadcast topic.
public struct FleetTopics: Sendable, Equatable {
    /// Default topic root (`MQTT_TOPIC_ROOT`).
    public static let defaultRoot = "fleet"
    /// Default broadcast command topic (`MQTT_BROADCAST_TOPIC`).
    public static let defaultBroadcast = "zephyr/broadcast"

    public let name: HatchlingName
    public let root: String
    /// Commands for this hatchling (hub to agent).
    public let command: String
    /// Commands for every hatchling (hub to agents).
    public let broadcast: String
    /// Answers to commands (agent to hub).
    public let response: String
    /// Retained telemetry (agent to hub).
    public let heartbeat: String
    /// Retained online/offline state (agent to hub).
    public let status: String
    /// Events from the gateway, checked and published by the agent (agent to hub, not retained).
    public let event: String

    public init(name: HatchlingName, root: String = FleetTopics.defaultRoot, broadcast: String = FleetTopics.defaultBroadcast) {
        self.name = name
        self.root = root
        self.broadcast = broadcast
        let base = "\(root)/\(name.rawValue)"
        self.command = "\(base)/command"
        self.response = "\(base)/response"
        self.heartbeat = "\(base)/heartbeat"
        self.status = "\(base)/status"
        self.event = "\(base)/event"
    }

    /// The two topics the agent subscribes to.
    public var subscriptions: [String] { [command, broadcast] }
    /// The four topics the agent publishes to; nothing else, ever.
    public var publications: [String] { [response, heartbeat, status, event] }

    /// Checks a topic root or broadcast topic: non-empty, no wildcards, no empty or leading/trailing level.
    public static func validateTopic(_ topic: String) -> String? {
        if topic.isEmpty { return "must not be empty" }
        if topic.utf8.count > 256 { return "must be at most 256 bytes" }
        if topic.contains("+") || topic.contains("#") { return "must not contain the wildcards '+' or '#'" }
        if topic.hasPrefix("/") || topic.hasSuffix("/") || topic.contains("//") {
            return "must not start or end with '/' or contain an empty level"
        }
        if topic.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) { return "must not contain control characters" }
        return nil
    }

    /// The hatchling name in `<root>/<name>/<leaf>`, for a hub reading many hatchlings' topics.
    public static func hatchlingName(inTopic topic: String, root: String = defaultRoot) -> (name: String, leaf: String)? {
        let prefix = root + "/"
        guard topic.hasPrefix(prefix) else { return nil }
        let rest = topic.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard rest.count == 2 else { return nil }
        return (String(rest[0]), String(rest[1]))
    }
}
