import FleetSigning
import MosquittoClient
import Testing

@testable import HatchlingAgent

@Suite("ConfigurationLoader: the configuration file")
struct ConfigurationFileTests {
    static let path = "/etc/hatchling/agent.env"
    let environment = ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": path, "MQTT_HOST": "from-env", "HEARTBEAT_INTERVAL": "60"]

    static let file = """
        # Hatchling agent settings
        export MQTT_HOST="broker.local:1884"

          HEARTBEAT_INTERVAL = '15'
        IMAGE_VERSION=2026.11.1
        MQTT_BROADCAST_TOPIC=site/all
        LOG_LEVEL=debug   
        """

    @Test("the file overrides the environment; sources show path:line")
    func fileOverrides() throws {
        let loaded = try makeLoader(environment, files: [Self.path: Self.file]).load()
        let c = loaded.configuration
        #expect(c.brokers == [MQTTEndpoint(host: "broker.local", port: 1884)])
        #expect(c.heartbeatInterval == 15)
        #expect(c.imageVersion == "2026.11.1")
        #expect(c.broadcastTopic == "site/all")
        #expect(c.logLevel == .debug)
        #expect(c.configFile == Self.path)
        #expect(c.sources[.mqttHost] == "\(Self.path):2")
        #expect(c.sources[.heartbeatInterval] == "\(Self.path):4")
        #expect(c.sources[.imageVersion] == "\(Self.path):5")
        #expect(c.sources[.logLevel] == "\(Self.path):7")
        #expect(c.sources[.hatchlingName] == "environment")
        #expect(c.sources[.configFile] == "environment")
        #expect(loaded.fileSHA256 == PayloadDigest.sha256Hex(Array(Self.file.utf8)))
    }

    /// An env file saved on Windows: Swift reads each CR LF as one Character, so splitting the
    /// text on the Character "\n" does not split it into lines.
    @Test("a file with CR LF line endings reads like one with LF")
    func crlfFile() throws {
        let text = "# saved on Windows\r\nHEARTBEAT_INTERVAL=15\r\nLOG_LEVEL=debug\r\n"
        let entries = try ConfigFile.parse(text, path: "f")
        #expect(entries[.heartbeatInterval] == ConfigFile.Entry(value: "15", line: 2))
        #expect(entries[.logLevel] == ConfigFile.Entry(value: "debug", line: 3))
    }

    @Test("without a file there is no digest")
    func noFile() throws {
        #expect(try makeLoader(["HATCHLING_NAME": "mason"]).load().fileSHA256 == nil)
    }

    @Test("quotes: matching single or double quotes are removed, others kept")
    func quotes() throws {
        let entries = try ConfigFile.parse(
            "IMAGE_VERSION=\"1.0\"\nLOG_LEVEL='info'\nMQTT_USERNAME=\"half\nMQTT_CLIENT_ID='mixed\"\nMQTT_TOPIC_ROOT=\"\"\n",
            path: "f")
        #expect(entries[.imageVersion]?.value == "1.0")
        #expect(entries[.logLevel]?.value == "info")
        #expect(entries[.mqttUsername]?.value == "\"half")
        #expect(entries[.mqttClientID]?.value == "'mixed\"")
        #expect(entries[.mqttTopicRoot]?.value == "")
        #expect(entries[.mqttTopicRoot]?.line == 5)
    }

    @Test("an unknown key in the file is an error naming the line")
    func unknownKey() throws {
        let error = try loadError(environment, files: [Self.path: "HEARTBEAT_INTERVAL=10\n# fine\nHEARTBEAT_INTERVALS=10\n"])
        #expect(error.key == "HEARTBEAT_INTERVALS")
        #expect(error.source == "\(Self.path):3")
        #expect(error.description.contains("\(Self.path):3"))
        #expect(error.rule.contains("not a setting"))
    }

    @Test("the file cannot name another file, and every line must be KEY=VALUE")
    func badLines() throws {
        let nested = try loadError(environment, files: [Self.path: "HATCHLING_AGENT_CONFIG=/other\n"])
        #expect(nested.key == "HATCHLING_AGENT_CONFIG")
        #expect(nested.source == "\(Self.path):1")
        let noEquals = try loadError(environment, files: [Self.path: "\n\nsecret-xyz\n"])
        #expect(noEquals.source == "\(Self.path):3")
        #expect(!noEquals.description.contains("secret-xyz"))
        let unprintable = try loadError(environment, files: [Self.path: "BAD\u{1}KEY=1\n"])
        #expect(unprintable.key == "(not a setting name)")
    }

    @Test("a pasted secret on a line is never echoed: not to standard error, not to the bus")
    func secretLine() throws {
        let line = "c2stbGl2ZS1TRUNSRVQtdG9rZW4xMjM0NTY3ODkw=="
        let error = try loadError(environment, files: [Self.path: "HEARTBEAT_INTERVAL=30\n\(line)\n"])
        #expect(!error.description.contains("c2stbGl2"))
        #expect(!error.publicDescription.contains("c2stbGl2"))
        #expect(!error.publicDescription.contains(Self.path))
        #expect(!error.publicDescription.contains("/etc"))
        #expect(error.publicDescription.contains("line 2"), "\(error.publicDescription)")
    }

    @Test("a file that cannot be read, or is not UTF-8, is an error naming HATCHLING_AGENT_CONFIG")
    func unreadable() throws {
        #expect(try loadError(environment).key == "HATCHLING_AGENT_CONFIG")
        let loader = ConfigurationLoader(environment: environment, readFile: { _ in .success([0xFF, 0xFE]) })
        #expect(throws: ConfigurationError.self) { try loader.load() }
    }

    @Test("a bad value in the file names the key and the line")
    func badValueInFile() throws {
        let error = try loadError(environment, files: [Self.path: "MQTT_HOST=ok\nHEARTBEAT_INTERVAL=secret-xyz\n"])
        #expect(error.key == "HEARTBEAT_INTERVAL")
        #expect(error.source == "\(Self.path):2")
        #expect(!error.description.contains("secret-xyz"))
    }

    /// Every value that does not parse: the error names the key, never the value (it may be a
    /// secret, and reload errors travel on the bus).
    @Test(
        "bad values name the key and never repeat the value",
        arguments: [
            ("HATCHLING_NAME", "secret-xyz/"), ("HATCHLING_NAME", "-secret-xyz"), ("MQTT_HOST", "secret-xyz:port"),
            ("MQTT_HOST", "secret-xyz/x"), ("MQTT_PORT", "secret-xyz"), ("MQTT_PROTOCOL", "secret-xyz"),
            ("MQTT_CLIENT_ID", "secret-xyz with space"), ("MQTT_KEEPALIVE", "secret-xyz"), ("MQTT_TOPIC_ROOT", "secret-xyz/#"),
            ("MQTT_BROADCAST_TOPIC", "secret-xyz/+"), ("MQTT_TLS_CA", "/nonexistent/secret-xyz"),
            ("MQTT_PASSWORD_FILE", "/nonexistent/secret-xyz"), ("MQTT_RECONNECT_MAX", "secret-xyz"),
            ("COMMAND_RATE_LIMIT", "secret-xyz"), ("COMMAND_RATE_BURST", "secret-xyz"), ("HEARTBEAT_INTERVAL", "secret-xyz"),
            ("GATEWAY_HEALTH_URL", "https://secret-xyz/health"), ("HATCHLING_DATA_DIR", "secret-xyz"),
            ("IMAGE_VERSION", "secret-xyz!"), ("OPENCLAW_VERSION", "secret xyz"), ("LOG_LEVEL", "secret-xyz"),
            ("FLEET_COMMAND_KEY", "secret-xyz"),
        ])
    func badValues(_ key: String, _ value: String) throws {
        var environment = ["HATCHLING_NAME": "mason"]
        environment[key] = value
        let fromEnvironment = try loadError(environment)
        #expect(fromEnvironment.key == key)
        #expect(fromEnvironment.source == "environment")
        #expect(!fromEnvironment.description.contains("secret"), "\(fromEnvironment.description)")
        #expect(!fromEnvironment.description.contains("xyz"), "\(fromEnvironment.description)")

        let fromFile = try loadError(self.environment, files: [Self.path: "\(key)=\(value)\n"])
        #expect(fromFile.key == key)
        #expect(fromFile.source == "\(Self.path):1")
        #expect(!fromFile.description.contains("secret"), "\(fromFile.description)")
    }
}
