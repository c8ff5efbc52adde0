import FleetProtocol
import HatchlingSystem
import MosquittoClient

/// Connection settings given as flags; each one, when set, overrides the agent's variable of the
/// same meaning (`--host` over `MQTT_HOST`, and so on).
public struct ConnectionOverrides: Sendable, Equatable {
    /// `--host` (`host` or `host:port`); nil leaves `MQTT_HOST` in force. The same for each field.
    public var host: String?
    public var port: Int?
    public var username: String?
    public var passwordFile: String?
    public var tlsCA: String?
    public var tlsCert: String?
    public var tlsKey: String?
    public var topicRoot: String?
    public var broadcastTopic: String?
    public var protocolVersion: String?

    public init(
        host: String? = nil, port: Int? = nil, username: String? = nil, passwordFile: String? = nil, tlsCA: String? = nil,
        tlsCert: String? = nil, tlsKey: String? = nil, topicRoot: String? = nil, broadcastTopic: String? = nil,
        protocolVersion: String? = nil
    ) {
        // Every field is optional: a flag that was not given leaves its variable in force.
        self.host = host
        self.port = port
        self.username = username
        self.passwordFile = passwordFile
        self.tlsCA = tlsCA
        self.tlsCert = tlsCert
        self.tlsKey = tlsKey
        self.topicRoot = topicRoot
        self.broadcastTopic = broadcastTopic
        self.protocolVersion = protocolVersion
    }
}

/// Where and how the hub connects: the agent's variable names, with flags over them.
public struct ConnectionSettings: Sendable, Equatable {
    /// The brokers of `MQTT_HOST`'s list, tried in turn.
    public var endpoints: [MQTTEndpoint]
    /// The first broker of the list (for messages about where the hub connects).
    public var endpoint: MQTTEndpoint { endpoints[0] }
    public var username: String?
    public var password: String?
    public var tls: MQTTTLSOptions?
    public var topicRoot: String
    public var broadcastTopic: String
    /// `MQTT_PROTOCOL`: auto (MQTT 5, else 3.1.1), 5 or 3.1.1 (`BrokerSettings.protocolSpellings`).
    public var protocolChoice: MQTTProtocolChoice
    /// `MQTT_CONNECT_TIMEOUT`: seconds to wait for a CONNACK after connecting.
    public var connectTimeout: Double = BrokerSettings.defaultConnectTimeout
    /// Seconds between pings; short runs never need them, live views do.
    public var keepalive = 30

    /// Settings given in full (tests, and `resolve`).
    public init(
        endpoints: [MQTTEndpoint], username: String? = nil, password: String? = nil, tls: MQTTTLSOptions? = nil,
        topicRoot: String = FleetTopics.defaultRoot, broadcastTopic: String = FleetTopics.defaultBroadcast,
        protocolChoice: MQTTProtocolChoice = .auto, connectTimeout: Double = 10
    ) {
        precondition(!endpoints.isEmpty, "at least one broker")
        self.endpoints = endpoints
        self.connectTimeout = connectTimeout
        self.username = username
        self.password = password
        self.tls = tls
        self.topicRoot = topicRoot
        self.broadcastTopic = broadcastTopic
        self.protocolChoice = protocolChoice
    }

    /// Settings for one broker (tests).
    public init(
        endpoint: MQTTEndpoint, username: String? = nil, password: String? = nil, tls: MQTTTLSOptions? = nil,
        topicRoot: String = FleetTopics.defaultRoot, broadcastTopic: String = FleetTopics.defaultBroadcast,
        protocolChoice: MQTTProtocolChoice = .auto
    ) {
        self.init(
            endpoints: [endpoint], username: username, password: password, tls: tls, topicRoot: topicRoot,
            broadcastTopic: broadcastTopic, protocolChoice: protocolChoice)
    }

    /// The topics of one hatchling under these settings.
    public func topics(for name: HatchlingName) -> FleetTopics {
        FleetTopics(name: name, root: topicRoot, broadcast: broadcastTopic)
    }

    /// Options for one run: a fresh client id (`fleetctl-<random>`) and a clean session, so no
    /// broker keeps a session for a tool that comes and goes.
    public func clientOptions(
        protocolVersion: MQTTProtocolVersion, clientID: String = ConnectionSettings.freshClientID()
    ) -> MQTTClientOptions {
        MQTTClientOptions(
            clientID: clientID, protocolVersion: protocolVersion, cleanSession: true, username: username,
            password: password, tls: tls, connectTimeout: connectTimeout)
    }

    /// `fleetctl-` and 8 random hex digits.
    public static func freshClientID() -> String {
        "fleetctl-" + RandomID.hex(8)
    }

    /// Resolves the settings: a flag wins over its variable, the variable over the default.
    /// `MQTT_HOST` may list brokers (`host[:port],host[:port]`): fleetctl tries them in turn.
    /// The broker settings go through `BrokerSettings`, the agent's parser too; an error names the
    /// flag when a flag gave the value, else the variable (with its flag, when it has one).
    public static func resolve(
        environment: [String: String], overrides: ConnectionOverrides,
        readSecret: (String) -> String? = Files.readSecret, isReadable: (String) -> Bool = Files.isReadable
    ) throws(FleetctlError) -> ConnectionSettings {
        func value(_ flag: String?, _ key: String) -> (String, String)? {
            if let flag { return (flag, "--" + Self.flagName(key)) }
            if let text = environment[key], !text.isEmpty { return (text, key) }
            return nil
        }
        var values: [BrokerSettings.Key: String] = [:]
        var givenAs: [BrokerSettings.Key: String] = [:]
        func take(_ key: BrokerSettings.Key, _ flag: String?) {
            guard let given = value(flag, key.rawValue) else { return }
            values[key] = given.0
            givenAs[key] = given.1
        }
        func name(_ key: BrokerSettings.Key) -> String {
            if let given = givenAs[key] { return given }
            return Self.flag(for: key).map { "\(key.rawValue) (--\($0))" } ?? key.rawValue
        }
        take(.host, overrides.host)
        take(.port, overrides.port.map(String.init))
        take(.mqttProtocol, overrides.protocolVersion)
        take(.connectTimeout, nil)
        take(.username, overrides.username)
        take(.passwordFile, overrides.passwordFile)
        // --password-file wins over MQTT_PASSWORD; both variables set is an error (below).
        if overrides.passwordFile == nil { take(.password, nil) }
        take(.tlsCA, overrides.tlsCA)
        take(.tlsCert, overrides.tlsCert)
        take(.tlsKey, overrides.tlsKey)

        for key in [BrokerSettings.Key.tlsCA, .tlsCert, .tlsKey, .passwordFile] {
            if let path = values[key], !isReadable(path) {
                throw .setting(name: name(key), problem: "names a file that cannot be read: \(path)")
            }
        }
        let broker: BrokerSettings
        do {
            broker = try BrokerSettings(values)
        } catch {
            throw .setting(name: name(error.key), problem: error.problem)
        }
        // A port written with the host counts over MQTT_PORT, but not over --port.
        var endpoints = broker.brokers
        if let forced = overrides.port { endpoints = endpoints.map { MQTTEndpoint(host: $0.host, port: forced) } }

        var password = broker.password
        if let file = broker.passwordFile {
            guard let secret = readSecret(file) else {
                throw .setting(name: name(.passwordFile), problem: "names a file that cannot be read as text: \(file)")
            }
            password = secret
        }

        let root = value(overrides.topicRoot, "MQTT_TOPIC_ROOT") ?? (FleetTopics.defaultRoot, "MQTT_TOPIC_ROOT")
        let broadcast = value(overrides.broadcastTopic, "MQTT_BROADCAST_TOPIC") ?? (FleetTopics.defaultBroadcast, "MQTT_BROADCAST_TOPIC")
        for (topic, name) in [root, broadcast] {
            if let problem = FleetTopics.validateTopic(topic) { throw .setting(name: name, problem: problem) }
        }
        return ConnectionSettings(
            endpoints: endpoints, username: broker.username, password: password, tls: broker.tls,
            topicRoot: root.0, broadcastTopic: broadcast.0, protocolChoice: broker.protocolChoice,
            connectTimeout: broker.connectTimeout)
    }

    /// The flag of a broker setting, without its dashes; nil for the settings only a variable gives.
    static func flag(for key: BrokerSettings.Key) -> String? {
        switch key {
        case .password, .connectTimeout, .keepalive: nil
        default: flagName(key.rawValue)
        }
    }

    /// `MQTT_TLS_CA` → `tls-ca`, for messages about a flag.
    static func flagName(_ key: String) -> String {
        switch key {
        case "MQTT_PASSWORD_FILE": "password-file"
        case "MQTT_TOPIC_ROOT": "topic-root"
        case "MQTT_BROADCAST_TOPIC": "broadcast-topic"
        case "MQTT_PROTOCOL": "protocol"
        default: String(key.dropFirst(5)).lowercased().replacingUnderscores()
        }
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// Random identifiers for client ids and request ids.
public enum RandomID {
    /// `count` random lowercase hex digits.
    public static func hex(_ count: Int) -> String {
        let bytes = (0..<(count + 1) / 2).map { _ in UInt8.random(in: .min ... .max) }
        return String(Hex.encode(bytes).prefix(count))
    }
}
