/// The broker-connection settings the agent and fleetctl both read, parsed from their text by one
/// parser: same spellings, same defaults, same ranges, same rules between settings, same words.
///
/// Pure parsing: no environment, no files. Each side collects the texts its own way (the agent
/// from the environment and its configuration file, fleetctl from flags over the environment),
/// drops empty variables (an empty variable counts as unset, as in the shell scripts), then checks
/// the files named here (TLS files, the password file) and reads the password file itself: the
/// agent without ever showing a path (its errors may travel on the bus), fleetctl with it.
///
/// Topic root and broadcast topic are not broker settings: `FleetTopics` (FleetProtocol) owns them.
public struct BrokerSettings: Sendable, Equatable {
    /// The settings, named by their variables.
    public enum Key: String, CaseIterable, Sendable {
        case host = "MQTT_HOST"
        case port = "MQTT_PORT"
        case mqttProtocol = "MQTT_PROTOCOL"
        case connectTimeout = "MQTT_CONNECT_TIMEOUT"
        case keepalive = "MQTT_KEEPALIVE"
        case username = "MQTT_USERNAME"
        case password = "MQTT_PASSWORD"
        case passwordFile = "MQTT_PASSWORD_FILE"
        case tlsCA = "MQTT_TLS_CA"
        case tlsCert = "MQTT_TLS_CERT"
        case tlsKey = "MQTT_TLS_KEY"
    }

    /// A setting that does not parse, or breaks a rule with another: the setting and the rule,
    /// never the value (it may be a secret, and the agent's reload errors travel on the bus).
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var key: Key
        /// The rule, worded to follow the setting's name: `must be a port number from 1 to 65535`.
        public var problem: String

        public init(_ key: Key, _ problem: String) {
            self.key = key
            self.problem = problem
        }

        public var description: String { "\(key.rawValue) \(problem)" }
    }

    /// `MQTT_HOST`'s brokers, tried in turn; hosts listed without a port get `MQTT_PORT`'s.
    public var brokers: [MQTTEndpoint]
    public var protocolChoice: MQTTProtocolChoice
    /// Seconds to wait for the CONNACK after connecting.
    public var connectTimeout: Double
    public var keepalive: Int
    public var username: String?
    /// `MQTT_PASSWORD` as given; a password file is read by the caller.
    public var password: String?
    /// `MQTT_PASSWORD_FILE`: the path, never set together with `password`.
    public var passwordFile: String?
    /// On when `MQTT_TLS_CA` is set.
    public var tls: MQTTTLSOptions?

    public static let defaultHost = "mosquitto"
    public static let defaultPort = 1883
    /// The default port with `MQTT_TLS_CA`.
    public static let defaultTLSPort = 8883
    public static let portRange = 1...65535
    public static let defaultConnectTimeout = 10.0
    public static let connectTimeoutRange = 1.0...300.0
    public static let defaultKeepalive = 30
    public static let keepaliveRange = 5...65535

    /// Every spelling of `MQTT_PROTOCOL` (and fleetctl's `--protocol`), for help and docs. Letters
    /// may be in either case. MQTT 3.1 (protocol level 3) is not spoken: its spellings get a
    /// message that says so.
    public static let protocolSpellings = "auto; 5 (or 5.0); 3.1.1 (or 311, or 4, its protocol level)"

    /// Parses the settings given; a key that is absent is unset and gets its default. The first
    /// problem found is thrown, in this order: the TLS files' rules (the CA decides the default
    /// port), port, host, protocol, connect timeout, keepalive, then the credentials' rules.
    public init(_ values: [Key: String]) throws(Problem) {
        let caFile = values[.tlsCA]
        let certFile = values[.tlsCert]
        let keyFile = values[.tlsKey]
        if certFile != nil, keyFile == nil { throw Problem(.tlsKey, "must be set together with MQTT_TLS_CERT") }
        if keyFile != nil, certFile == nil { throw Problem(.tlsCert, "must be set together with MQTT_TLS_KEY") }
        if certFile != nil, caFile == nil { throw Problem(.tlsCA, "is required when a client certificate is set") }
        tls = caFile.map { MQTTTLSOptions(caFile: $0, certFile: certFile, keyFile: keyFile) }

        var port = tls == nil ? Self.defaultPort : Self.defaultTLSPort
        if let text = values[.port] {
            guard let number = Int(text), Self.portRange.contains(number) else {
                throw Problem(.port, "must be a port number from 1 to 65535")
            }
            port = number
        }
        do {
            brokers = try MQTTEndpoint.parseList(values[.host] ?? Self.defaultHost, defaultPort: port)
        } catch {
            throw Problem(.host, error.problem)
        }

        protocolChoice = try Self.protocolChoice(values[.mqttProtocol] ?? MQTTProtocolChoice.auto.rawValue)

        connectTimeout = Self.defaultConnectTimeout
        if let text = values[.connectTimeout] {
            guard let seconds = Double(text), seconds.isFinite, Self.connectTimeoutRange.contains(seconds) else {
                throw Problem(.connectTimeout, "must be a number of seconds from 1 to 300")
            }
            connectTimeout = seconds
        }
        keepalive = Self.defaultKeepalive
        if let text = values[.keepalive] {
            guard let seconds = Int(text), Self.keepaliveRange.contains(seconds) else {
                throw Problem(.keepalive, "must be a whole number of seconds from 5 to 65535")
            }
            keepalive = seconds
        }

        password = values[.password]
        passwordFile = values[.passwordFile]
        if password != nil, passwordFile != nil {
            throw Problem(.passwordFile, "cannot be set together with MQTT_PASSWORD; keep one")
        }
        username = values[.username]
        if password != nil || passwordFile != nil, username == nil {
            throw Problem(.username, "is required when a password is set")
        }
    }

    /// `MQTT_PROTOCOL`: the spellings of `MQTTProtocolChoice(setting:)`, the one table of them.
    public static func protocolChoice(_ text: String) throws(Problem) -> MQTTProtocolChoice {
        if let choice = MQTTProtocolChoice(setting: text) { return choice }
        switch text.lowercased() {
        case "3.1", "31", "3", "mqttv31", "v3.1":
            throw Problem(.mqttProtocol, "\(MQTTProtocolChoice.rule): MQTT 3.1 (protocol level 3) is not supported, use 3.1.1")
        default:
            throw Problem(.mqttProtocol, MQTTProtocolChoice.rule)
        }
    }
}
