import ArgumentParser
import FleetControl
import FleetProtocol

/// The broker flags every subcommand shares; each overrides the agent's variable of the same meaning.
struct ConnectionOptions: ParsableArguments {
    @Option(help: "Broker host, host:port, or a list host:port,host:port tried in turn (default: MQTT_HOST, else mosquitto).")
    var host: String?

    @Option(help: "Broker port (default: MQTT_PORT, else 1883, or 8883 with TLS).")
    var port: Int?

    @Option(help: "Broker user (default: MQTT_USERNAME).")
    var username: String?

    @Option(name: .customLong("password-file"), help: "File holding the broker password (default: MQTT_PASSWORD_FILE, or MQTT_PASSWORD).")
    var passwordFile: String?

    @Option(name: .customLong("tls-ca"), help: "CA file; turns TLS on (default: MQTT_TLS_CA).")
    var tlsCA: String?

    @Option(name: .customLong("tls-cert"), help: "Client certificate (default: MQTT_TLS_CERT).")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "Client key (default: MQTT_TLS_KEY).")
    var tlsKey: String?

    @Option(name: .customLong("topic-root"), help: "Topic root (default: MQTT_TOPIC_ROOT, else fleet).")
    var topicRoot: String?

    @Option(name: .customLong("broadcast-topic"), help: "Broadcast command topic (default: MQTT_BROADCAST_TOPIC, else zephyr/broadcast).")
    var broadcastTopic: String?

    @Option(
        name: .customLong("protocol"),
        help: "MQTT version: auto (5, else 3.1.1), 5 (or 5.0) or 3.1.1 (or 311, 4); not 3.1 (default: MQTT_PROTOCOL, else auto).")
    var mqttProtocol: String?

    var overrides: ConnectionOverrides {
        ConnectionOverrides(
            host: host, port: port, username: username, passwordFile: passwordFile, tlsCA: tlsCA, tlsCert: tlsCert,
            tlsKey: tlsKey, topicRoot: topicRoot, broadcastTopic: broadcastTopic, protocolVersion: mqttProtocol)
    }

    func validate() throws {
        do {
            _ = try settings()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The settings in force: flags over the environment over the defaults.
    func settings() throws(FleetctlError) -> ConnectionSettings {
        try ConnectionSettings.resolve(environment: ProcessEnvironment.current(), overrides: overrides)
    }
}
