import MosquittoClient

/// Every setting the agent reads, from the environment or the configuration file.
///
/// One table drives parsing, `--help`, `check-config` (with secrets as `***`) and the `changed` list
/// of a reload, so a new setting is added in one place.
public enum SettingKey: String, CaseIterable, Sendable, Comparable {
    case hatchlingName = "HATCHLING_NAME"
    case mqttHost = "MQTT_HOST"
    case mqttPort = "MQTT_PORT"
    case mqttProtocol = "MQTT_PROTOCOL"
    case mqttConnectTimeout = "MQTT_CONNECT_TIMEOUT"
    case mqttClientID = "MQTT_CLIENT_ID"
    case mqttKeepalive = "MQTT_KEEPALIVE"
    case mqttTopicRoot = "MQTT_TOPIC_ROOT"
    case mqttBroadcastTopic = "MQTT_BROADCAST_TOPIC"
    case mqttUsername = "MQTT_USERNAME"
    case mqttPassword = "MQTT_PASSWORD"
    case mqttPasswordFile = "MQTT_PASSWORD_FILE"
    case mqttTLSCA = "MQTT_TLS_CA"
    case mqttTLSCert = "MQTT_TLS_CERT"
    case mqttTLSKey = "MQTT_TLS_KEY"
    case mqttReconnectMax = "MQTT_RECONNECT_MAX"
    case commandRateLimit = "COMMAND_RATE_LIMIT"
    case commandRateBurst = "COMMAND_RATE_BURST"
    case eventRateLimit = "EVENT_RATE_LIMIT"
    case agentSocket = "HATCHLING_AGENT_SOCKET"
    case heartbeatInterval = "HEARTBEAT_INTERVAL"
    case gatewayHealthURL = "GATEWAY_HEALTH_URL"
    case memoryDegradedPercent = "HEALTH_MEMORY_DEGRADED_PCT"
    case diskDegradedFreePercent = "HEALTH_DISK_FREE_DEGRADED_PCT"
    case dataDirectory = "HATCHLING_DATA_DIR"
    case configFile = "HATCHLING_AGENT_CONFIG"
    case commandKey = "FLEET_COMMAND_KEY"
    case commandKeyFile = "FLEET_COMMAND_KEY_FILE"
    case imageVersion = "IMAGE_VERSION"
    case openclawVersion = "OPENCLAW_VERSION"
    case logLevel = "LOG_LEVEL"
    case logFormat = "LOG_FORMAT"

    public static func < (lhs: SettingKey, rhs: SettingKey) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// The default, as text, or nil when there is none.
    public var defaultText: String? {
        switch self {
        case .hatchlingName: nil
        case .mqttHost: "mosquitto"
        case .mqttPort: "1883 (8883 with MQTT_TLS_CA)"
        case .mqttProtocol: "auto"
        case .mqttConnectTimeout: "10"
        case .mqttClientID: "<HATCHLING_NAME>"
        case .mqttKeepalive: "30"
        case .mqttTopicRoot: "fleet"
        case .mqttBroadcastTopic: "zephyr/broadcast"
        case .mqttReconnectMax: "30"
        case .commandRateLimit: "10"
        case .commandRateBurst: "20"
        case .eventRateLimit: "60"
        case .agentSocket: "/run/hatchling-agent/agent.sock"
        case .heartbeatInterval: "30"
        case .gatewayHealthURL: "http://127.0.0.1:18789/health"
        case .memoryDegradedPercent: "90"
        case .diskDegradedFreePercent: "5"
        case .dataDirectory: "/home/openclaw/.openclaw"
        case .logLevel: "info"
        case .logFormat: "text"
        default: nil
        }
    }

    /// One line for `--help`.
    public var summary: String {
        switch self {
        case .hatchlingName: "this hatchling's name (required): 1-64 of A-Z a-z 0-9 _ -, starting with a letter or digit"
        case .mqttHost: "broker host; 'host[:port],host[:port]' lists brokers to try in turn"
        case .mqttPort: "broker port for hosts listed without one"
        case .mqttProtocol:
            "'auto', '5' (or '5.0') or '3.1.1' (or '311', '4'); auto tries 5 and falls back to 3.1.1 with a broker that refuses it, closes the connection or does not answer; MQTT 3.1 is not supported"
        case .mqttConnectTimeout: "seconds to wait for the broker's CONNACK after connecting (1-300), apart from the keepalive"
        case .mqttClientID: "MQTT client id; the default is the name, which a broker that binds client ids to usernames expects"
        case .mqttKeepalive: "keepalive in seconds (5-65535); a frozen link is noticed within about 2.25 times this"
        case .mqttTopicRoot: "topic root: the agent uses <root>/<name>/{command,response,heartbeat,status}"
        case .mqttBroadcastTopic: "topic of commands for every hatchling"
        case .mqttUsername: "broker username (normally the hatchling's name)"
        case .mqttPassword: "broker password (prefer MQTT_PASSWORD_FILE)"
        case .mqttPasswordFile: "file holding the broker password (a trailing newline is ignored)"
        case .mqttTLSCA: "CA certificate file: turns TLS on and verifies the broker's certificate and host name"
        case .mqttTLSCert: "client certificate file (with MQTT_TLS_KEY)"
        case .mqttTLSKey: "client private key file (with MQTT_TLS_CERT)"
        case .mqttReconnectMax: "cap of the reconnect backoff, in seconds (1-3600)"
        case .commandRateLimit: "commands per second; 0 turns the limit off"
        case .commandRateBurst: "commands allowed at once above the rate (1 or more)"
        case .eventRateLimit: "events per minute that `publish` may send, with a burst of 10; 0 turns the limit off"
        case .agentSocket:
            "local socket for `publish` and `health` (set the same value for both sides; its folder decides who may connect)"
        case .heartbeatInterval: "seconds between heartbeats (1-86400)"
        case .gatewayHealthURL: "the gateway's health endpoint (http://host:port/path)"
        case .memoryDegradedPercent: "memory use (of the container's limit, else the host's memory) at or above this percent is 'degraded'"
        case .diskDegradedFreePercent: "free space of the data directory's file system under this percent is 'degraded'"
        case .dataDirectory: "data directory whose file system the disk figures describe"
        case .configFile: "KEY=VALUE file that overrides the environment; re-read by config-reload and SIGHUP"
        case .commandKey: "command signing key (16 or more bytes): when set, only signed JSON commands run (prefer the file)"
        case .commandKeyFile: "file holding the command signing key (a trailing newline is ignored)"
        case .imageVersion: "image version reported by version-report"
        case .openclawVersion: "gateway version, if known; else found from the openclaw package"
        case .logLevel: "trace, debug, info, notice, warning, error or critical"
        case .logFormat: "text (for people), logfmt (ts= level= msg= key=value) or json (one object a line), for a log shipper"
        }
    }

    /// Values never shown: logs, `check-config` and errors print `***`.
    public var isSecret: Bool {
        self == .mqttPassword || self == .commandKey
    }

    /// Settings a running agent cannot change: a reload reports them and leaves them as they were.
    public var requiresRestart: Bool {
        switch self {
        case .commandRateLimit, .commandRateBurst, .eventRateLimit, .heartbeatInterval, .gatewayHealthURL, .dataDirectory,
            .imageVersion, .openclawVersion, .logLevel, .memoryDegradedPercent, .diskDegradedFreePercent,
            .commandKey, .commandKeyFile:
            false
        default:
            true
        }
    }
}

extension SettingKey {
    /// The agent's name for a broker setting: the same variable (a test holds every one to it).
    init(_ key: BrokerSettings.Key) {
        guard let setting = SettingKey(rawValue: key.rawValue) else { preconditionFailure("\(key.rawValue) is not a SettingKey") }
        self = setting
    }
}
