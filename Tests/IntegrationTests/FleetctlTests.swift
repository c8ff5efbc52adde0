import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// `fleetctl send` against a real mosquitto and real agents.
@Suite("fleetctl send", .serialized)
struct FleetctlSendTests {
    static let keyText = "5f0c1a6e9b2d4f7a8c3e1b0d9f6a2c4e"

    func answers(_ result: Fleetctl.Result) throws -> [[String: Any]] {
        try result.json()["answers"] as? [[String: Any]] ?? []
    }

    @Test("send to one hatchling: exit 0 with an id and correlation data; 1 for reload-failed; 2 for a missing one or an unknown command")
    func sendNamed() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker) { _ in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
                defer { hub.close() }
                try await hub.waitOnline("mason")
                let env = Fleetctl.environment(broker)

                let table = try await Fleetctl.run(["send", "mason", "health-check"], environment: env)
                #expect(table.status == 0, "\(table.stdout)\(table.stderr)")
                #expect(table.stdout.contains("HATCHLING") && table.stdout.contains("health-check: 1 ok, 0 failed, 0 no answer"))

                let json = try await Fleetctl.run(["send", "mason", "version-report", "--json"], environment: env)
                #expect(json.status == 0)
                let answer = try #require(try answers(json).first)
                let response = try #require(answer["response"] as? [String: Any])
                #expect((response["result"] as? [String: Any])?["agent"] as? String == "1.0.0")
                let id = try #require(response["id"] as? String)
                #expect(id.hasPrefix("fc-"))
                let request = try await hub.waitForMessage("the request") {
                    $0.topic == "fleet/mason/command" && String(decoding: $0.payload, as: UTF8.self).contains(id)
                }
                #expect(request.correlationData == Array(id.utf8), "MQTT 5 correlation data is the id")

                let failed = try await Fleetctl.run(["send", "mason", "config-reload", "--json"], environment: env)
                #expect(failed.status == 1, "\(failed.stdout)")
                let error = try #require((try answers(failed).first?["response"] as? [String: Any])?["error"] as? [String: Any])
                #expect(error["code"] as? String == "reload-failed")

                let missing = try await Fleetctl.run(["send", "mason", "ghost", "status-report", "--timeout", "1"], environment: env)
                #expect(missing.status == 2)
                #expect(missing.stdout.contains("ghost") && missing.stdout.contains("no answer"))
                #expect(missing.stdout.contains("1 ok, 0 failed, 1 no answer"))

                let unknown = try await Fleetctl.run(["send", "mason", "reboot"], environment: env)
                #expect(unknown.status == 2)
                #expect(unknown.stderr.contains("'reboot' is not a fleet command"), "\(unknown.stderr)")
                // Nothing was sent: a later command arrives and no "reboot" came before it.
                _ = try await Fleetctl.run(["send", "mason", "health-check"], environment: env)
                #expect(!hub.messages.contains { String(decoding: $0.payload, as: UTF8.self).contains("reboot") })
            }
        }
    }

    @Test("send --all: every hatchling whose retained status is online; one that does not answer makes exit 2")
    func sendAll() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker) { _ in
                try await withAgent("rook", broker: broker) { _ in
                    let hub = try await TestHub.connect(to: broker, topics: ["fleet/#", "zephyr/broadcast"])
                    defer { hub.close() }
                    try await hub.waitOnline("mason")
                    try await hub.waitOnline("rook")
                    let env = Fleetctl.environment(broker)

                    let all = try await Fleetctl.run(["send", "--all", "status-report", "--json"], environment: env)
                    #expect(all.status == 0, "\(all.stdout)\(all.stderr)")
                    #expect(try all.json()["expected"] as? [String] == ["mason", "rook"])
                    #expect(try answers(all).map { $0["hatchling"] as? String } == ["mason", "rook"])
                    _ = try await hub.waitForMessage("one broadcast request") { $0.topic == "zephyr/broadcast" }

                    // A retained "online" with no agent behind it: expected, and reported as not answering.
                    try hub.publish(
                        "fleet/ghost/status",
                        #"{"v":1,"state":"online","ts":"2026-01-01T00:00:00.000Z","boot_id":"0123456789abcdef0123456789abcdef"}"#,
                        retain: true)
                    _ = try await hub.waitForMessage("the ghost's status") { $0.topic == "fleet/ghost/status" }
                    let ghost = try await Fleetctl.run(["send", "--all", "health-check", "--timeout", "1"], environment: env)
                    #expect(ghost.status == 2, "\(ghost.stdout)")
                    #expect(ghost.stdout.contains("ghost") && ghost.stdout.contains("no answer"))
                    #expect(ghost.stdout.contains("2 ok, 0 failed, 1 no answer"))
                }
            }
        }
    }

    @Test("signed commands with --key-dir, --key-file and FLEET_KEY_DIR run on a keyed agent; unsigned ones are refused")
    func signed() async throws {
        let keys = try makeTemporaryDirectory(prefix: "keys")
        let keyFile = keys.appendingPathComponent("sable.key")
        try "\(Self.keyText)\n".write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)
        try await withBroker { broker in
            try await withAgent("sable", broker: broker, environment: ["FLEET_COMMAND_KEY_FILE": keyFile.path]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#", "zephyr/broadcast"])
                defer { hub.close() }
                try await hub.waitOnline("sable")
                let env = Fleetctl.environment(broker)

                let dir = try await Fleetctl.run(["send", "--key-dir", keys.path, "sable", "status-report", "--json"], environment: env)
                #expect(dir.status == 0, "\(dir.stdout)\(dir.stderr)")

                let file = try await Fleetctl.run(
                    ["send", "--key-file", keyFile.path, "--expires-in", "30", "sable", "health-check"], environment: env)
                #expect(file.status == 0, "\(file.stdout)\(file.stderr)")
                let request = try await hub.waitForMessage("a request with expires_at") {
                    String(decoding: $0.payload, as: UTF8.self).contains("expires_at")
                }
                let payload = String(decoding: request.payload, as: UTF8.self)
                #expect(payload.contains("\"sig\":\"") && payload.contains("\"ts\":\""))
                #expect(request.messageExpiryInterval != nil, "the MQTT 5 expiry is set too")

                let all = try await Fleetctl.run(["send", "--all", "version-report"], environment: env.merging(["FLEET_KEY_DIR": keys.path]) { $1 })
                #expect(all.status == 0, "\(all.stdout)\(all.stderr)")
                #expect(!hub.messages.contains { $0.topic == "zephyr/broadcast" }, "signed --all sends one request per hatchling")

                let unsigned = try await Fleetctl.run(["send", "sable", "health-check", "--json"], environment: env)
                #expect(unsigned.status == 1)
                let error = (try answers(unsigned).first?["response"] as? [String: Any])?["error"] as? [String: Any]
                #expect(error?["code"] as? String == "unauthorized")

                let noKey = try await Fleetctl.run(["send", "--key-dir", keys.path, "sable", "ghost", "health-check"], environment: env)
                #expect(noKey.status == 2)
                #expect(noKey.stderr.contains("ghost.key"), "\(noKey.stderr)")
                #expect(!agent.log().contains(Self.keyText))
            }
        }
    }

    @Test("a fleet of 150 retained statuses is read whole by status and by send --all (the snapshot barrier)")
    func largeFleet() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hub.close() }
            let names = (1...150).map { "h\($0)" }
            for name in names {
                try hub.publish(
                    "fleet/\(name)/status", #"{"v":1,"state":"online","ts":"2026-01-01T00:00:00.000Z","boot_id":"0123456789abcdef0123456789abcdef"}"#,
                    retain: true)
            }
            _ = try await hub.waitForMessage("the last status") { $0.topic == "fleet/h150/status" }
            let env = Fleetctl.environment(broker)
            let status = try await Fleetctl.run(["status", "--json"], environment: env)
            let listed = try status.json()["hatchlings"] as? [[String: Any]] ?? []
            #expect(listed.count == 150)
            #expect(listed.allSatisfy { $0["state"] as? String == "stale" && $0["reason"] as? String == "no heartbeat" })
            let all = try await Fleetctl.run(["send", "--all", "health-check", "--timeout", "0.5", "--json"], environment: env)
            #expect(all.status == 2)
            #expect((try all.json()["expected"] as? [String])?.count == 150)
        }
    }
}
