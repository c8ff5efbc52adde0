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
    /// `MQTT_PROTOCOL`: auto (MQTT 5, else 3.1.1), 5 or 3.1.1.
    public var protocolChoice: MQTTProtocolChoice
    /// `MQTT_CONNECT_TIMEOUT`: seconds to wait for a CONNACK after connecting.
    public var connectTimeout: Double = 10
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
    public static func resolve(
        environment: [String: String], overrides: ConnectionOverrides,
        readSecret: (String) -> String? = Files.readSecret, isReadable: (String) -> Bool = Files.isReadable
    ) throws(FleetctlError) -> ConnectionSettings {
        func value(_ flag: String?, _ key: String) -> (String, String)? {
            if let flag { return (flag, "--" + Self.flagName(key)) }
            if let text = environment[key], !text.isEmpty { return (text, key) }
            return nil
        }
        let tlsCA = value(overrides.tlsCA, "MQTT_TLS_CA")
        let tlsCert = value(overrides.tlsCert, "MQTT_TLS_CERT")
        let tlsKey = value(overrides.tlsKey, "MQTT_TLS_KEY")
        for file in [tlsCA, tlsCert, tlsKey].compactMap({ $0 }) where !isReadable(file.0) {
            throw .setting(name: file.1, problem: "names a file that cannot be read: \(file.0)")
        }
        if (tlsCert == nil) != (tlsKey == nil) {
            throw .setting(name: "MQTT_TLS_CERT", problem: "and MQTT_TLS_KEY (--tls-cert, --tls-key) must be given together")
        }
        if tlsCert != nil, tlsCA == nil {
            throw .setting(name: "MQTT_TLS_CA", problem: "(--tls-ca) is required with a client certificate")
        }
        let tls = tlsCA.map { MQTTTLSOptions(caFile: $0.0, certFile: tlsCert?.0, keyFile: tlsKey?.0) }

        let hostEntry = value(overrides.host, "MQTT_HOST") ?? ("mosquitto", "MQTT_HOST")
        var port = tls == nil ? 1883 : 8883
        if let given = value(overrides.port.map(String.init), "MQTT_PORT") {
            guard let number = Int(given.0), (1...65535).contains(number) else {
                throw .setting(name: given.1, problem: "must be a port number from 1 to 65535")
            }
            port = number
        }
        // A port written with the host counts over MQTT_PORT, but not over --port.
        var endpoints: [MQTTEndpoint]
        do {
            endpoints = try MQTTEndpoint.parseList(hostEntry.0, defaultPort: port)
        } catch {
            throw .setting(name: hostEntry.1, problem: error.problem)
        }
        if let forced = overrides.port { endpoints = endpoints.map { MQTTEndpoint(host: $0.host, port: forced) } }

        let username = value(overrides.username, "MQTT_USERNAME")?.0
        var password: String? = nil
        if let file = value(overrides.passwordFile, "MQTT_PASSWORD_FILE") {
            if overrides.passwordFile == nil, environment["MQTT_PASSWORD"].map({ !$0.isEmpty }) == true {
                throw .setting(name: "MQTT_PASSWORD_FILE", problem: "cannot be set together with MQTT_PASSWORD; keep one")
            }
            guard let secret = readSecret(file.0) else {
                throw .setting(name: file.1, problem: "names a file that cannot be read as text: \(file.0)")
            }
            password = secret
        } else if let text = environment["MQTT_PASSWORD"], !text.isEmpty {
            password = text
        }
        if password != nil, username == nil {
            throw .setting(name: "MQTT_USERNAME", problem: "(--username) is required when a password is set")
        }

        let root = value(overrides.topicRoot, "MQTT_TOPIC_ROOT") ?? (FleetTopics.defaultRoot, "MQTT_TOPIC_ROOT")
        let broadcast = value(overrides.broadcastTopic, "MQTT_BROADCAST_TOPIC") ?? (FleetTopics.defaultBroadcast, "MQTT_BROADCAST_TOPIC")
        for (topic, name) in [root, broadcast] {
            if let problem = FleetTopics.validateTopic(topic) { throw .setting(name: name, problem: problem) }
        }
        var choice = MQTTProtocolChoice.auto
        if let given = value(overrides.protocolVersion, "MQTT_PROTOCOL") {
            guard let parsed = MQTTProtocolChoice(setting: given.0) else {
                throw .setting(name: given.1, problem: MQTTProtocolChoice.rule)
            }
            choice = parsed
        }
        var connectTimeout = 10.0
        if let given = value(nil, "MQTT_CONNECT_TIMEOUT") {
            guard let seconds = Double(given.0), seconds.isFinite, (1...300).contains(seconds) else {
                throw .setting(name: given.1, problem: "must be a number of seconds from 1 to 300")
            }
            connectTimeout = seconds
        }
        return ConnectionSettings(
            endpoints: endpoints, username: username, password: password, tls: tls,
            topicRoot: root.0, broadcastTopic: broadcast.0, protocolChoice: choice, connectTimeout: connectTimeout)
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
