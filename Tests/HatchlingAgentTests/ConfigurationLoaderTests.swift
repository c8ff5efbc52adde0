import FleetProtocol
import Logging
import MosquittoClient
import Testing

@testable import HatchlingAgent

@Suite("ConfigurationLoader: environment")
struct ConfigurationLoaderTests {
    let name = ["HATCHLING_NAME": "mason"]

    @Test("defaults: only the name is required")
    func defaults() throws {
        let c = try load(name)
        #expect(c.name.rawValue == "mason")
        #expect(c.clientID == "mason")
        #expect(c.brokers == [MQTTEndpoint(host: "mosquitto", port: 1883)])
        #expect(c.protocolChoice == .auto)
        #expect(c.connectTimeout == 10)
        #expect(c.keepalive == 30)
        #expect(c.topicRoot == "fleet")
        #expect(c.broadcastTopic == "zephyr/broadcast")
        #expect(c.username == nil && c.password == nil && c.passwordFile == nil && c.tls == nil)
        #expect(c.reconnectMax == 30)
        #expect(c.commandRateLimit == 10)
        #expect(c.commandRateBurst == 20)
        #expect(c.heartbeatInterval == 30)
        #expect(c.gatewayHealthURL == HTTPURL("http://127.0.0.1:18789/health"))
        #expect(c.dataDirectory == "/home/openclaw/.openclaw")
        #expect(c.configFile == nil && c.imageVersion == nil && c.openclawVersion == nil)
        #expect(c.logLevel == .info)
        #expect(c.sources == [.hatchlingName: "environment"])
        #expect(c.topics.command == "fleet/mason/command")
    }

    @Test("the name is required")
    func nameRequired() throws {
        let error = try loadError([:])
        #expect(error.key == "HATCHLING_NAME")
        #expect(error.description.contains("is required"))
        #expect(try loadError(["HATCHLING_NAME": ""]).key == "HATCHLING_NAME", "an empty variable counts as unset")
    }

    @Test(
        "MQTT_USERNAME other than HATCHLING_NAME is a warning (the template broker takes the username as the name); a password file is the password's source"
    )
    func usernameOtherThanName() throws {
        let other = try load(
            ["HATCHLING_NAME": "mason", "MQTT_USERNAME": "finch", "MQTT_PASSWORD_FILE": readablePath], files: [readablePath: "pw\n"])
        let mismatch = other.warnings.filter { $0.hasPrefix("MQTT_USERNAME") }
        #expect(mismatch.count == 1 && mismatch.allSatisfy { $0.contains("MQTT_USERNAME differs from HATCHLING_NAME (mason)") }, "\(other.warnings)")
        #expect(!mismatch.contains { $0.contains("finch") }, "no value of a credential setting in the line")
        #expect(other.sources[.mqttPassword] == "read from MQTT_PASSWORD_FILE")
        let same = try load(["HATCHLING_NAME": "mason", "MQTT_USERNAME": "mason", "MQTT_PASSWORD": "pw"])
        #expect(
            !same.warnings.contains { $0.hasPrefix("MQTT_USERNAME") } && same.sources[.mqttPassword] == "environment",
            "\(same.warnings) \(same.sources)")
    }

    @Test("MQTT_CLIENT_ID overrides the default")
    func clientID() throws {
        #expect(try load(name.merging(["MQTT_CLIENT_ID": "custom-1"]) { $1 }).clientID == "custom-1")
    }

    @Test("TLS turns the default port to 8883; an explicit port wins")
    func tlsPort() throws {
        let tls = try load(name.merging(["MQTT_TLS_CA": readablePath]) { $1 })
        #expect(tls.tls == MQTTTLSOptions(caFile: readablePath))
        #expect(tls.brokers == [MQTTEndpoint(host: "mosquitto", port: 8883)])
        let explicit = try load(name.merging(["MQTT_TLS_CA": readablePath, "MQTT_PORT": "9883"]) { $1 })
        #expect(explicit.brokers == [MQTTEndpoint(host: "mosquitto", port: 9883)])
        let client = try load(
            name.merging(["MQTT_TLS_CA": readablePath, "MQTT_TLS_CERT": readablePath, "MQTT_TLS_KEY": readablePath]) { $1 })
        #expect(client.tls == MQTTTLSOptions(caFile: readablePath, certFile: readablePath, keyFile: readablePath))
    }

    @Test("TLS file rules: readable, cert with key, CA with a client certificate")
    func tlsRules() throws {
        #expect(try loadError(name.merging(["MQTT_TLS_CA": "/nonexistent/ca.pem"]) { $1 }).key == "MQTT_TLS_CA")
        #expect(try loadError(name.merging(["MQTT_TLS_CA": readablePath, "MQTT_TLS_CERT": readablePath]) { $1 }).key == "MQTT_TLS_KEY")
        #expect(try loadError(name.merging(["MQTT_TLS_CA": readablePath, "MQTT_TLS_KEY": readablePath]) { $1 }).key == "MQTT_TLS_CERT")
        #expect(try loadError(name.merging(["MQTT_TLS_CERT": readablePath, "MQTT_TLS_KEY": readablePath]) { $1 }).key == "MQTT_TLS_CA")
    }

    @Test(
        "broker lists: host[:port] items, the port default for items without one",
        arguments: [
            ("a:1884,b", nil, [MQTTEndpoint(host: "a", port: 1884), MQTTEndpoint(host: "b", port: 1883)]),
            ("a:1884, b", "2000", [MQTTEndpoint(host: "a", port: 1884), MQTTEndpoint(host: "b", port: 2000)]),
            ("[::1]:1883", nil, [MQTTEndpoint(host: "::1", port: 1883)]),
            ("[fd00::2]", "1999", [MQTTEndpoint(host: "fd00::2", port: 1999)]),
            ("10.0.0.1", nil, [MQTTEndpoint(host: "10.0.0.1", port: 1883)]),
        ] as [(String, String?, [MQTTEndpoint])])
    func brokers(_ host: String, _ port: String?, _ expected: [MQTTEndpoint]) throws {
        var environment = name
        environment["MQTT_HOST"] = host
        environment["MQTT_PORT"] = port
        let c = try load(environment)
        #expect(c.brokers == expected)
        #expect(c.value(of: .mqttHost) == expected.map(\.description).joined(separator: ","))
    }

    @Test("bad broker lists name MQTT_HOST", arguments: ["a:b:c", "a:0", "a:65536", "a:", "a,,b", "[::1", "[::1]x", "[::1]:x", "a/b", ","])
    func badBrokers(_ host: String) throws {
        let error = try loadError(name.merging(["MQTT_HOST": host]) { $1 })
        #expect(error.key == "MQTT_HOST")
        #expect(error.source == "environment")
    }

    @Test(
        "MQTT_PROTOCOL values",
        arguments: [
            ("5", MQTTProtocolChoice.v5), ("5.0", .v5), ("3.1.1", .v311), ("311", .v311), ("4", .v311), ("auto", .auto), ("AUTO", .auto),
        ])
    func protocolValues(_ text: String, _ expected: MQTTProtocolChoice) throws {
        #expect(try load(name.merging(["MQTT_PROTOCOL": text]) { $1 }).protocolChoice == expected)
    }

    @Test("an unknown MQTT_PROTOCOL is refused; MQTT 3.1 is refused with a reason", arguments: ["6", "3", "v5", "3.1"])
    func badProtocol(_ text: String) throws {
        let error = try loadError(name.merging(["MQTT_PROTOCOL": text]) { $1 })
        #expect(error.key == "MQTT_PROTOCOL")
        #expect(error.rule.hasPrefix("must be auto, 5 or 3.1.1"))
        #expect(error.rule.contains("MQTT 3.1 (protocol level 3) is not supported") == (text == "3" || text == "3.1"), "\(error.rule)")
    }

    @Test("LOG_LEVEL: case-insensitive, warn means warning")
    func logLevel() throws {
        #expect(try load(name.merging(["LOG_LEVEL": "DEBUG"]) { $1 }).logLevel == .debug)
        #expect(try load(name.merging(["LOG_LEVEL": "warn"]) { $1 }).logLevel == .warning)
        #expect(try loadError(name.merging(["LOG_LEVEL": "loud"]) { $1 }).key == "LOG_LEVEL")
    }

    @Test("numbers at the edges of their ranges")
    func ranges() throws {
        let c = try load(
            name.merging([
                "COMMAND_RATE_LIMIT": "0", "COMMAND_RATE_BURST": "1", "HEARTBEAT_INTERVAL": "86400", "MQTT_KEEPALIVE": "5",
                "MQTT_RECONNECT_MAX": "0.5e1",
            ]) { $1 })
        #expect(c.commandRateLimit == 0)
        #expect(c.commandRateBurst == 1)
        #expect(c.heartbeatInterval == 86400)
        #expect(c.keepalive == 5)
        #expect(c.reconnectMax == 5)
        for (key, value) in [("HEARTBEAT_INTERVAL", "0"), ("MQTT_KEEPALIVE", "4"), ("COMMAND_RATE_BURST", "0"), ("MQTT_RECONNECT_MAX", "nan")] {
            #expect(try loadError(name.merging([key: value]) { $1 }).key == key)
        }
    }

    @Test("credentials: the password file's trailing newline is stripped")
    func passwordFile() throws {
        let environment = name.merging(["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": readablePath]) { $1 }
        let c = try load(environment, files: [readablePath: "s3cret\n"])
        #expect(c.username == "mason")
        #expect(c.password == "s3cret")
        #expect(c.passwordFile == readablePath)
        #expect(try load(environment, files: [readablePath: "s3cret\n\n"]).password == "s3cret")
        #expect(try load(environment, files: [readablePath: "s3cret\r"]).password == "s3cret")
        #expect(try load(environment, files: [readablePath: "with space"]).password == "with space")
    }

    /// A password file saved with Windows line endings ends in CR LF, which Swift treats as one
    /// Character: neither `hasSuffix("\n")` nor `hasSuffix("\r")` sees it.
    @Test("credentials: a trailing CR LF is stripped from the password file too")
    func passwordFileCRLF() throws {
        let environment = name.merging(["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": readablePath]) { $1 }
        #expect(try load(environment, files: [readablePath: "s3cret\r\n"]).password == "s3cret")
    }

    @Test("credentials: password and password file exclude each other; a password needs a username")
    func credentialRules() throws {
        let both = ["MQTT_USERNAME": "mason", "MQTT_PASSWORD": "p", "MQTT_PASSWORD_FILE": readablePath]
        #expect(try loadError(name.merging(both) { $1 }, files: [readablePath: "p"]).key == "MQTT_PASSWORD_FILE")
        #expect(try loadError(name.merging(["MQTT_PASSWORD": "p"]) { $1 }).key == "MQTT_USERNAME")
        #expect(try loadError(name.merging(["MQTT_PASSWORD_FILE": "/nonexistent/pw"]) { $1 }).key == "MQTT_PASSWORD_FILE")
        let unreadable = try loadError(name.merging(["MQTT_USERNAME": "u", "MQTT_PASSWORD_FILE": readablePath]) { $1 })
        #expect(unreadable.key == "MQTT_PASSWORD_FILE")
    }

    @Test("a command key: from the variable or a file (trailing newline ignored), at least 16 bytes, never shown")
    func commandKey() throws {
        let fromVariable = try load(name.merging(["FLEET_COMMAND_KEY": "0123456789abcdef-secret"]) { $1 })
        #expect(fromVariable.commandKey?.bytes == Array("0123456789abcdef-secret".utf8))
        #expect(fromVariable.displayValue(of: .commandKey) == "***")
        let fromFile = try load(name.merging(["FLEET_COMMAND_KEY_FILE": readablePath]) { $1 }, files: [readablePath: "0123456789abcdef-secret\n"])
        #expect(fromFile.commandKey == fromVariable.commandKey)
        #expect(fromFile.value(of: .commandKey) == fromVariable.value(of: .commandKey), "a reload compares fingerprints")
        #expect(fromFile.value(of: .commandKey)?.contains("secret") == false)

        let short = try loadError(name.merging(["FLEET_COMMAND_KEY": "short-secret"]) { $1 })
        #expect(short.key == "FLEET_COMMAND_KEY")
        #expect(short.rule.contains("16 bytes"))
        #expect(!short.description.contains("short-secret"))
        let both = try loadError(name.merging(["FLEET_COMMAND_KEY": "0123456789abcdef", "FLEET_COMMAND_KEY_FILE": readablePath]) { $1 })
        #expect(both.key == "FLEET_COMMAND_KEY_FILE")
        #expect(try loadError(name.merging(["FLEET_COMMAND_KEY_FILE": "/nonexistent/key"]) { $1 }).key == "FLEET_COMMAND_KEY_FILE")
    }

    @Test("displayValue: the password is ***, unset is (unset), others as they are")
    func displayValue() throws {
        let c = try load(name.merging(["MQTT_USERNAME": "mason", "MQTT_PASSWORD": "secret-xyz"]) { $1 })
        #expect(c.password == "secret-xyz")
        #expect(c.displayValue(of: .mqttPassword) == "***")
        #expect(c.displayValue(of: .mqttUsername) == "mason")
        #expect(c.displayValue(of: .mqttTLSCA) == "(unset)")
        #expect(c.displayValue(of: .commandKey) == "(unset)")
        #expect(c.displayValue(of: .mqttPort) == "1883")
        #expect(!AgentCLI.describe(c).contains("secret-xyz"))
    }
}
