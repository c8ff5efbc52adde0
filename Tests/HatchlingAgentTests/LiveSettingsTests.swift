import MosquittoClient
import Testing

@testable import HatchlingAgent

@Suite("changedSettings and applyingLiveSettings")
struct LiveSettingsTests {
    let base = ["HATCHLING_NAME": "mason"]

    func configuration(_ extra: [String: String]) throws -> AgentConfiguration {
        try load(base.merging(extra) { $1 })
    }

    @Test("a change of HEARTBEAT_INTERVAL is applied; a change of MQTT_HOST is reported but not applied")
    func liveAndRestart() throws {
        let current = try configuration([:])
        let newer = try configuration(["HEARTBEAT_INTERVAL": "5", "MQTT_HOST": "other"])
        let changed = newer.changedSettings(comparedTo: current)
        #expect(changed == [.mqttHost, .heartbeatInterval])
        #expect(changed.filter(\.requiresRestart) == [.mqttHost])

        let applied = current.applyingLiveSettings(from: newer)
        #expect(applied.heartbeatInterval == 5)
        #expect(applied.brokers == [MQTTEndpoint(host: "mosquitto", port: 1883)])
        #expect(applied.sources[.heartbeatInterval] == "environment")
        #expect(applied.sources[.mqttHost] == nil, "the source of a setting not applied stays as it was")
        #expect(applied.changedSettings(comparedTo: newer) == [.mqttHost])
    }

    @Test("every live setting is applied")
    func allLiveSettings() throws {
        let current = try configuration([:])
        let newer = try configuration([
            "COMMAND_RATE_LIMIT": "2.5", "COMMAND_RATE_BURST": "3", "HEARTBEAT_INTERVAL": "7",
            "GATEWAY_HEALTH_URL": "http://gw:8080/h", "HATCHLING_DATA_DIR": "/data", "IMAGE_VERSION": "1.2.3",
            "OPENCLAW_VERSION": "2026.1.5", "LOG_LEVEL": "debug",
        ])
        let changed = newer.changedSettings(comparedTo: current)
        #expect(changed.allSatisfy { !$0.requiresRestart })
        #expect(changed.count == 8)
        let applied = current.applyingLiveSettings(from: newer)
        #expect(applied == newer)
        #expect(applied.value(of: .commandRateLimit) == "2.5")
    }

    /// A new name also changes the default client id; a new port also changes the broker list.
    @Test(
        "settings that need a restart are all kept",
        arguments: [
            ("HATCHLING_NAME", "other", ["HATCHLING_NAME", "MQTT_CLIENT_ID"]), ("MQTT_PORT", "1999", ["MQTT_HOST", "MQTT_PORT"]),
            ("MQTT_PROTOCOL", "3.1.1", ["MQTT_PROTOCOL"]), ("MQTT_CLIENT_ID", "c", ["MQTT_CLIENT_ID"]),
            ("MQTT_KEEPALIVE", "60", ["MQTT_KEEPALIVE"]), ("MQTT_TOPIC_ROOT", "f2", ["MQTT_TOPIC_ROOT"]),
            ("MQTT_BROADCAST_TOPIC", "b/2", ["MQTT_BROADCAST_TOPIC"]), ("MQTT_RECONNECT_MAX", "5", ["MQTT_RECONNECT_MAX"]),
        ])
    func restartSettings(_ key: String, _ value: String, _ expected: [String]) throws {
        let current = try configuration([:])
        let newer = try configuration([key: value])
        let changed = newer.changedSettings(comparedTo: current)
        #expect(changed.map(\.rawValue) == expected)
        #expect(changed.allSatisfy { $0.requiresRestart })
        #expect(current.applyingLiveSettings(from: newer) == current)
    }

    @Test("no change, nothing reported")
    func unchanged() throws {
        let current = try configuration(["HEARTBEAT_INTERVAL": "30"])
        #expect(current.changedSettings(comparedTo: try configuration([:])).isEmpty)
    }
}
