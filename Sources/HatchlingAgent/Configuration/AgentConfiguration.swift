import FleetProtocol
import FleetSigning
import Logging
import MosquittoClient

/// The agent's effective settings, validated. Built only by `ConfigurationLoader`.
public struct AgentConfiguration: Sendable, Equatable {
    public var name: HatchlingName
    public var brokers: [MQTTEndpoint]
    public var protocolChoice: MQTTProtocolChoice
    public var connectTimeout: Double
    public var clientID: String
    public var keepalive: Int
    public var topicRoot: String
    public var broadcastTopic: String
    public var username: String?
    public var password: String?
    public var passwordFile: String?
    public var tls: MQTTTLSOptions?
    public var reconnectMax: Double
    public var commandRateLimit: Double
    public var commandRateBurst: Int
    /// Events per minute (`publish`), with a burst of `EventGate.burst`; 0 is no limit.
    public var eventRateLimit: Double
    /// The local socket of `publish` and `health`.
    public var agentSocket: String
    public var heartbeatInterval: Int
    public var gatewayHealthURL: HTTPURL
    public var memoryDegradedPercent: Double
    public var diskDegradedFreePercent: Double
    public var dataDirectory: String
    public var configFile: String?
    /// When set, only commands signed with this key run.
    public var commandKey: CommandKey?
    public var commandKeyFile: String?
    public var imageVersion: String?
    public var openclawVersion: String?
    public var logLevel: Logger.Level
    public var logFormat: LogFormat = .text

    /// Things worth a warning at start that are not errors (a secret file others can read).
    public var warnings: [String] = []

    /// Which source each setting came from: `default`, `environment` or `file:line`.
    public var sources: [SettingKey: String]

    /// The topics derived from name, root and broadcast topic.
    public var topics: FleetTopics {
        FleetTopics(name: name, root: topicRoot, broadcast: broadcastTopic)
    }

    /// The effective value of a setting as text, the form `check-config` prints and a reload compares.
    /// Secrets are returned as they are; callers that show values use `displayValue(of:)`.
    public func value(of key: SettingKey) -> String? {
        switch key {
        case .hatchlingName: name.rawValue
        case .mqttHost: brokers.map(\.description).joined(separator: ",")
        case .mqttPort: brokers.first.map { String($0.port) }
        case .mqttProtocol: protocolChoice.rawValue
        case .mqttConnectTimeout: Self.format(connectTimeout)
        case .mqttClientID: clientID
        case .mqttKeepalive: String(keepalive)
        case .mqttTopicRoot: topicRoot
        case .mqttBroadcastTopic: broadcastTopic
        case .mqttUsername: username
        case .mqttPassword: password
        case .mqttPasswordFile: passwordFile
        case .mqttTLSCA: tls?.caFile
        case .mqttTLSCert: tls?.certFile
        case .mqttTLSKey: tls?.keyFile
        case .mqttReconnectMax: Self.format(reconnectMax)
        case .commandRateLimit: Self.format(commandRateLimit)
        case .commandRateBurst: String(commandRateBurst)
        case .eventRateLimit: Self.format(eventRateLimit)
        case .agentSocket: agentSocket
        case .heartbeatInterval: String(heartbeatInterval)
        case .gatewayHealthURL: gatewayHealthURL.description
        case .memoryDegradedPercent: Self.format(memoryDegradedPercent)
        case .diskDegradedFreePercent: Self.format(diskDegradedFreePercent)
        case .dataDirectory: dataDirectory
        case .configFile: configFile
        case .commandKey: commandKey?.fingerprint
        case .commandKeyFile: commandKeyFile
        case .imageVersion: imageVersion
        case .openclawVersion: openclawVersion
        case .logLevel: logLevel.rawValue
        case .logFormat: logFormat.rawValue
        }
    }

    /// The value for people: `***` for a secret that is set, `(unset)` for nothing.
    public func displayValue(of key: SettingKey) -> String {
        guard let value = value(of: key) else { return "(unset)" }
        if key.isSecret || (key == .mqttPassword) { return "***" }
        return value
    }

    /// Names of the settings whose values differ from `other`'s.
    public func changedSettings(comparedTo other: AgentConfiguration) -> [SettingKey] {
        SettingKey.allCases.filter { value(of: $0) != other.value(of: $0) }
    }

    /// This configuration with the settings that may change at run time taken from `newer`.
    public func applyingLiveSettings(from newer: AgentConfiguration) -> AgentConfiguration {
        var result = self
        result.commandRateLimit = newer.commandRateLimit
        result.commandRateBurst = newer.commandRateBurst
        result.eventRateLimit = newer.eventRateLimit
        result.heartbeatInterval = newer.heartbeatInterval
        result.gatewayHealthURL = newer.gatewayHealthURL
        result.memoryDegradedPercent = newer.memoryDegradedPercent
        result.diskDegradedFreePercent = newer.diskDegradedFreePercent
        result.dataDirectory = newer.dataDirectory
        result.imageVersion = newer.imageVersion
        result.openclawVersion = newer.openclawVersion
        result.logLevel = newer.logLevel
        result.commandKey = newer.commandKey
        result.commandKeyFile = newer.commandKeyFile
        for key in SettingKey.allCases where !key.requiresRestart {
            result.sources[key] = newer.sources[key]
        }
        return result
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
