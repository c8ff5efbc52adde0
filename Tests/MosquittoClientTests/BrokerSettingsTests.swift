import FleetControl
import Foundation
import HatchlingAgent
import MosquittoClient
import Testing

/// One table of broker settings (variables in, settings or a problem out), held against the
/// shared parser and against both of its callers: the agent's `ConfigurationLoader` and fleetctl's
/// `ConnectionSettings.resolve`. A row that one of them reads differently fails here.
@Suite("Broker settings: one parser, one table, the agent and fleetctl agree")
struct BrokerSettingsTests {
    /// What a set of variables gives, in the terms both sides share.
    struct Outcome: Sendable, Equatable, CustomStringConvertible {
        var brokers = [MQTTEndpoint(host: "mosquitto", port: 1883)]
        var protocolChoice = MQTTProtocolChoice.auto
        var connectTimeout = 10.0
        var keepalive = 30
        var username: String? = nil
        var password: String? = nil
        var tls: MQTTTLSOptions? = nil
        var topicRoot = "fleet"
        var broadcastTopic = "zephyr/broadcast"

        var description: String {
            "brokers \(brokers), protocol \(protocolChoice), timeout \(connectTimeout), keepalive \(keepalive), "
                + "user \(username ?? "-"), password \(password ?? "-"), tls \(tls.map { "\($0)" } ?? "-"), "
                + "topics \(topicRoot) \(broadcastTopic)"
        }
    }

    enum Expected: Sendable {
        case settings(Outcome)
        /// The variable and the rule, word for word.
        case problem(String, String)
        /// A file that cannot be read: each side checks and words that itself (the agent never
        /// shows the path, fleetctl does), so only the variable and `names a file that` are shared.
        case fileProblem(String)
    }

    struct Row: Sendable, CustomTestStringConvertible {
        var environment: [String: String]
        var expected: Expected
        /// MQTT_KEEPALIVE: fleetctl does not read it (its keepalive is fixed at 30).
        var agentOnly = false

        var testDescription: String {
            environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
    }

    static func ok(_ environment: [String: String], _ outcome: Outcome = Outcome(), agentOnly: Bool = false) -> Row {
        Row(environment: environment, expected: .settings(outcome), agentOnly: agentOnly)
    }

    static func bad(_ environment: [String: String], _ key: String, _ rule: String, agentOnly: Bool = false) -> Row {
        Row(environment: environment, expected: .problem(key, rule), agentOnly: agentOnly)
    }

    static func endpoints(_ list: (String, Int)...) -> [MQTTEndpoint] { list.map { MQTTEndpoint(host: $0.0, port: $0.1) } }

    static let hostRule = "must list host names or addresses as host[:port],host[:port]"
    static let hostPortRule = "has a port that is not a number from 1 to 65535"
    static let ipv6Rule = "must write IPv6 addresses as [address]:port"
    static let portRule = "must be a port number from 1 to 65535"
    static let protocolRule = "must be auto, 5 or 3.1.1"
    static let protocol31Rule = "must be auto, 5 or 3.1.1: MQTT 3.1 (protocol level 3) is not supported, use 3.1.1"
    static let timeoutRule = "must be a number of seconds from 1 to 300"
    static let keepaliveRule = "must be a whole number of seconds from 5 to 65535"

    /// Paths in the table: `@ca`, `@crt`, `@key`, `@pw` (holding `from-file` and a newline) are
    /// real files in a scratch folder; `@missing` is not there.
    static let table: [Row] = [
        // Defaults; an empty variable counts as unset.
        ok([:]),
        ok(["MQTT_HOST": "", "MQTT_PORT": "", "MQTT_PROTOCOL": "", "MQTT_CONNECT_TIMEOUT": "", "MQTT_PASSWORD": ""]),

        // MQTT_HOST: a list of host[:port], IPv6 in brackets; MQTT_PORT for items without a port.
        ok(["MQTT_HOST": "broker"], Outcome(brokers: endpoints(("broker", 1883)))),
        ok(["MQTT_HOST": "10.0.0.1"], Outcome(brokers: endpoints(("10.0.0.1", 1883)))),
        ok(["MQTT_HOST": "a:1884,b"], Outcome(brokers: endpoints(("a", 1884), ("b", 1883)))),
        ok(["MQTT_HOST": "a:1884, b", "MQTT_PORT": "2000"], Outcome(brokers: endpoints(("a", 1884), ("b", 2000)))),
        ok(["MQTT_HOST": "[::1]:1884"], Outcome(brokers: endpoints(("::1", 1884)))),
        ok(["MQTT_HOST": "[fd00::2]", "MQTT_PORT": "1999"], Outcome(brokers: endpoints(("fd00::2", 1999)))),
        bad(["MQTT_HOST": "::1"], "MQTT_HOST", ipv6Rule),
        bad(["MQTT_HOST": "a:b:c"], "MQTT_HOST", ipv6Rule),
        bad(["MQTT_HOST": "a:0"], "MQTT_HOST", hostPortRule),
        bad(["MQTT_HOST": "a:65536"], "MQTT_HOST", hostPortRule),
        bad(["MQTT_HOST": "a:"], "MQTT_HOST", hostPortRule),
        bad(["MQTT_HOST": "[::1]x"], "MQTT_HOST", hostPortRule),
        bad(["MQTT_HOST": "[::1"], "MQTT_HOST", "has an unclosed '[' in an IPv6 address"),
        bad(["MQTT_HOST": "a,,b"], "MQTT_HOST", hostRule),
        bad(["MQTT_HOST": ","], "MQTT_HOST", hostRule),
        bad(["MQTT_HOST": "a/b"], "MQTT_HOST", hostRule),

        // MQTT_PORT: 1 to 65535, a whole number.
        ok(["MQTT_PORT": "1"], Outcome(brokers: endpoints(("mosquitto", 1)))),
        ok(["MQTT_PORT": "65535"], Outcome(brokers: endpoints(("mosquitto", 65535)))),
        bad(["MQTT_PORT": "0"], "MQTT_PORT", portRule),
        bad(["MQTT_PORT": "65536"], "MQTT_PORT", portRule),
        bad(["MQTT_PORT": "-1"], "MQTT_PORT", portRule),
        bad(["MQTT_PORT": "1883.0"], "MQTT_PORT", portRule),
        bad(["MQTT_PORT": "x"], "MQTT_PORT", portRule),

        // MQTT_PROTOCOL: the drift cases first (311 and 3.1 were once read differently).
        ok(["MQTT_PROTOCOL": "311"], Outcome(protocolChoice: .v311)),
        bad(["MQTT_PROTOCOL": "3.1"], "MQTT_PROTOCOL", protocol31Rule),
        bad(["MQTT_PROTOCOL": "31"], "MQTT_PROTOCOL", protocol31Rule),
        bad(["MQTT_PROTOCOL": "3"], "MQTT_PROTOCOL", protocol31Rule),
        bad(["MQTT_PROTOCOL": "MQTTv31"], "MQTT_PROTOCOL", protocol31Rule),
        ok(["MQTT_PROTOCOL": "auto"]),
        ok(["MQTT_PROTOCOL": "AUTO"]),
        ok(["MQTT_PROTOCOL": "5"], Outcome(protocolChoice: .v5)),
        ok(["MQTT_PROTOCOL": "5.0"], Outcome(protocolChoice: .v5)),
        ok(["MQTT_PROTOCOL": "3.1.1"], Outcome(protocolChoice: .v311)),
        ok(["MQTT_PROTOCOL": "4"], Outcome(protocolChoice: .v311)),
        bad(["MQTT_PROTOCOL": "6"], "MQTT_PROTOCOL", protocolRule),
        bad(["MQTT_PROTOCOL": "4.0"], "MQTT_PROTOCOL", protocolRule),
        bad(["MQTT_PROTOCOL": "v5"], "MQTT_PROTOCOL", protocolRule),
        bad(["MQTT_PROTOCOL": "mqttv5"], "MQTT_PROTOCOL", protocolRule),
        bad(["MQTT_PROTOCOL": "3.1.1 "], "MQTT_PROTOCOL", protocolRule),

        // MQTT_CONNECT_TIMEOUT: seconds, 1 to 300, fractions allowed.
        ok(["MQTT_CONNECT_TIMEOUT": "2.5"], Outcome(connectTimeout: 2.5)),
        ok(["MQTT_CONNECT_TIMEOUT": "1"], Outcome(connectTimeout: 1)),
        ok(["MQTT_CONNECT_TIMEOUT": "300"], Outcome(connectTimeout: 300)),
        ok(["MQTT_CONNECT_TIMEOUT": "0.5e1"], Outcome(connectTimeout: 5)),
        bad(["MQTT_CONNECT_TIMEOUT": "0"], "MQTT_CONNECT_TIMEOUT", timeoutRule),
        bad(["MQTT_CONNECT_TIMEOUT": "300.5"], "MQTT_CONNECT_TIMEOUT", timeoutRule),
        bad(["MQTT_CONNECT_TIMEOUT": "-1"], "MQTT_CONNECT_TIMEOUT", timeoutRule),
        bad(["MQTT_CONNECT_TIMEOUT": "nan"], "MQTT_CONNECT_TIMEOUT", timeoutRule),
        bad(["MQTT_CONNECT_TIMEOUT": "inf"], "MQTT_CONNECT_TIMEOUT", timeoutRule),
        bad(["MQTT_CONNECT_TIMEOUT": "x"], "MQTT_CONNECT_TIMEOUT", timeoutRule),

        // MQTT_KEEPALIVE: whole seconds, 5 to 65535 (the agent's; fleetctl keeps 30).
        ok(["MQTT_KEEPALIVE": "5"], Outcome(keepalive: 5), agentOnly: true),
        ok(["MQTT_KEEPALIVE": "65535"], Outcome(keepalive: 65535), agentOnly: true),
        bad(["MQTT_KEEPALIVE": "4"], "MQTT_KEEPALIVE", keepaliveRule, agentOnly: true),
        bad(["MQTT_KEEPALIVE": "65536"], "MQTT_KEEPALIVE", keepaliveRule, agentOnly: true),
        bad(["MQTT_KEEPALIVE": "2.5"], "MQTT_KEEPALIVE", keepaliveRule, agentOnly: true),

        // Credentials: a password (or its file, never both) needs a username.
        ok(["MQTT_USERNAME": "mason"], Outcome(username: "mason")),
        ok(["MQTT_USERNAME": "mason", "MQTT_PASSWORD": "p w"], Outcome(username: "mason", password: "p w")),
        ok(["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": "@pw"], Outcome(username: "mason", password: "from-file")),
        bad(["MQTT_PASSWORD": "p"], "MQTT_USERNAME", "is required when a password is set"),
        bad(["MQTT_PASSWORD_FILE": "@pw"], "MQTT_USERNAME", "is required when a password is set"),
        bad(
            ["MQTT_USERNAME": "mason", "MQTT_PASSWORD": "p", "MQTT_PASSWORD_FILE": "@pw"], "MQTT_PASSWORD_FILE",
            "cannot be set together with MQTT_PASSWORD; keep one"),
        Row(environment: ["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": "@missing"], expected: .fileProblem("MQTT_PASSWORD_FILE")),

        // TLS: the CA turns it on (and the default port to 8883); certificate and key together, with a CA.
        ok(["MQTT_TLS_CA": "@ca"], Outcome(brokers: endpoints(("mosquitto", 8883)), tls: MQTTTLSOptions(caFile: "@ca"))),
        ok(["MQTT_TLS_CA": "@ca", "MQTT_PORT": "9883"], Outcome(brokers: endpoints(("mosquitto", 9883)), tls: MQTTTLSOptions(caFile: "@ca"))),
        ok(
            ["MQTT_TLS_CA": "@ca", "MQTT_HOST": "a:1884,b"],
            Outcome(brokers: endpoints(("a", 1884), ("b", 8883)), tls: MQTTTLSOptions(caFile: "@ca"))),
        ok(
            ["MQTT_TLS_CA": "@ca", "MQTT_TLS_CERT": "@crt", "MQTT_TLS_KEY": "@key"],
            Outcome(brokers: endpoints(("mosquitto", 8883)), tls: MQTTTLSOptions(caFile: "@ca", certFile: "@crt", keyFile: "@key"))),
        bad(["MQTT_TLS_CA": "@ca", "MQTT_TLS_CERT": "@crt"], "MQTT_TLS_KEY", "must be set together with MQTT_TLS_CERT"),
        bad(["MQTT_TLS_CA": "@ca", "MQTT_TLS_KEY": "@key"], "MQTT_TLS_CERT", "must be set together with MQTT_TLS_KEY"),
        bad(["MQTT_TLS_CERT": "@crt", "MQTT_TLS_KEY": "@key"], "MQTT_TLS_CA", "is required when a client certificate is set"),
        Row(environment: ["MQTT_TLS_CA": "@missing"], expected: .fileProblem("MQTT_TLS_CA")),
        Row(environment: ["MQTT_TLS_CA": "@ca", "MQTT_TLS_CERT": "@missing", "MQTT_TLS_KEY": "@key"], expected: .fileProblem("MQTT_TLS_CERT")),

        // Topics (FleetTopics' rules, which both sides call).
        ok(["MQTT_TOPIC_ROOT": "herd", "MQTT_BROADCAST_TOPIC": "all/cmd"], Outcome(topicRoot: "herd", broadcastTopic: "all/cmd")),
        bad(["MQTT_TOPIC_ROOT": "fleet/#"], "MQTT_TOPIC_ROOT", "must not contain the wildcards '+' or '#'"),
        bad(["MQTT_BROADCAST_TOPIC": "/all"], "MQTT_BROADCAST_TOPIC", "must not start or end with '/' or contain an empty level"),
    ]

    /// The scratch folder behind the table's `@` paths.
    static let folder: String = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("broker-settings-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in [("ca", "ca"), ("crt", "crt"), ("key", "key"), ("pw", "from-file\n")] {
            let path = folder.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
        }
        return folder.path
    }()

    /// A value with its `@` path made real.
    static func real(_ value: String) -> String {
        value.hasPrefix("@") ? folder + "/" + value.dropFirst() : value
    }

    /// The outcome with its `@` paths made real, as the sides report them.
    static func real(_ outcome: Outcome) -> Outcome {
        var result = outcome
        result.tls = outcome.tls.map { MQTTTLSOptions(caFile: real($0.caFile), certFile: $0.certFile.map(real), keyFile: $0.keyFile.map(real)) }
        return result
    }

    static func environment(of row: Row) -> [String: String] {
        row.environment.mapValues(real)
    }

    /// What a side answered, as an outcome or as (variable, rule).
    enum Answer: CustomStringConvertible {
        case settings(Outcome)
        case problem(String, String)

        var description: String {
            switch self {
            case .settings(let outcome): "settings: \(outcome)"
            case .problem(let key, let rule): "problem: \(key) \(rule)"
            }
        }
    }

    static func check(_ answer: Answer, against row: Row, side: String) {
        switch (row.expected, answer) {
        case (.settings(let expected), .settings(let actual)):
            #expect(actual == real(expected), "\(side)")
        case (.problem(let key, let rule), .problem(let actualKey, let actualRule)):
            #expect(actualKey == key && actualRule == rule, "\(side): \(actualKey) \(actualRule)")
        case (.fileProblem(let key), .problem(let actualKey, let actualRule)):
            #expect(actualKey == key && actualRule.hasPrefix("names a file that"), "\(side): \(actualKey) \(actualRule)")
        default:
            Issue.record("\(side) answered \(answer), expected \(row.expected)")
        }
    }

    // MARK: The parser itself

    @Test("the shared parser, on every row it decides (no files read, no topics)", arguments: table)
    func parser(_ row: Row) {
        let broker = Set(BrokerSettings.Key.allCases.map(\.rawValue))
        switch row.expected {
        case .fileProblem: return  // the callers' checks
        case .problem(let key, _) where !broker.contains(key): return  // FleetTopics'
        default: break
        }
        var values: [BrokerSettings.Key: String] = [:]
        for (name, value) in row.environment where !value.isEmpty {
            if let key = BrokerSettings.Key(rawValue: name) { values[key] = value }
        }
        let answer: Answer
        do {
            let parsed = try BrokerSettings(values)
            var outcome = Outcome(
                brokers: parsed.brokers, protocolChoice: parsed.protocolChoice, connectTimeout: parsed.connectTimeout,
                keepalive: parsed.keepalive, username: parsed.username, password: parsed.password, tls: parsed.tls)
            if parsed.passwordFile == "@pw" { outcome.password = "from-file" }  // read by the callers
            if case .settings(let expected) = row.expected {
                outcome.topicRoot = expected.topicRoot
                outcome.broadcastTopic = expected.broadcastTopic
            }
            answer = .settings(outcome)
        } catch {
            answer = .problem(error.key.rawValue, error.problem)
            #expect(error.description == "\(error.key.rawValue) \(error.problem)")
        }
        switch (row.expected, answer) {
        case (.settings(let expected), .settings(let actual)): #expect(actual == expected)
        default: Self.check(answer, against: row, side: "BrokerSettings")
        }
    }

    // MARK: Its two callers

    @Test("the agent's ConfigurationLoader reads every row as the table says", arguments: table)
    func agent(_ row: Row) {
        var environment = Self.environment(of: row)
        environment["HATCHLING_NAME"] = "mason"
        let answer: Answer
        do {
            let c = try ConfigurationLoader(environment: environment).load().configuration
            answer = .settings(
                Outcome(
                    brokers: c.brokers, protocolChoice: c.protocolChoice, connectTimeout: c.connectTimeout, keepalive: c.keepalive,
                    username: c.username, password: c.password, tls: c.tls, topicRoot: c.topicRoot, broadcastTopic: c.broadcastTopic))
        } catch {
            answer = .problem(error.key, error.rule)
        }
        Self.check(answer, against: row, side: "hatchling-agent")
    }

    @Test("fleetctl's ConnectionSettings.resolve reads every row it reads as the table says", arguments: table.filter { !$0.agentOnly })
    func fleetctl(_ row: Row) {
        let answer: Answer
        do {
            let s = try ConnectionSettings.resolve(environment: Self.environment(of: row), overrides: ConnectionOverrides())
            answer = .settings(
                Outcome(
                    brokers: s.endpoints, protocolChoice: s.protocolChoice, connectTimeout: s.connectTimeout, keepalive: s.keepalive,
                    username: s.username, password: s.password, tls: s.tls, topicRoot: s.topicRoot, broadcastTopic: s.broadcastTopic))
        } catch {
            guard case .setting(let name, let problem) = error else {
                Issue.record("not a setting error: \(error)")
                return
            }
            // A variable not given is named with its flag: `MQTT_USERNAME (--username)`.
            answer = .problem(String(name.prefix { $0 != " " }), problem)
            #expect(error.exitStatus == 2)
        }
        Self.check(answer, against: row, side: "fleetctl")
    }

    @Test("every broker setting is a setting of the agent's, under the same name")
    func sameNames() {
        for key in BrokerSettings.Key.allCases {
            #expect(SettingKey(rawValue: key.rawValue) != nil, "\(key.rawValue)")
        }
    }

    @Test("a problem never holds the value it was given (values may be secrets)")
    func noValues() {
        let values: [(BrokerSettings.Key, String)] = [
            (.host, "secret-xyz/x"), (.host, "secret-xyz:port"), (.port, "secret-xyz"), (.mqttProtocol, "secret-xyz"),
            (.connectTimeout, "secret-xyz"), (.keepalive, "secret-xyz"),
        ]
        for (key, value) in values {
            do {
                _ = try BrokerSettings([key: value])
                Issue.record("\(key.rawValue)=\(value) was accepted")
            } catch {
                #expect(error.key == key && !error.description.contains("secret-xyz"), "\(error)")
            }
        }
    }
}
