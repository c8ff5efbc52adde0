import FleetProtocol
import Foundation
import MosquittoClient
import Testing

/// Each command, in both forms, against a real mosquitto and the real agent binary.
@Suite("Commands over a real broker", .serialized)
struct CommandTests {
    @Test("each command answers in plain text and JSON, echoing id and correlation data")
    func eachCommandBothForms() async throws {
        try await withBroker { broker in
            let configFile = try makeTemporaryDirectory(prefix: "cfg").appendingPathComponent("agent.env")
            try "HEARTBEAT_INTERVAL=30\n".write(to: configFile, atomically: true, encoding: .utf8)
            try await withAgent("mason", broker: broker, environment: ["HATCHLING_AGENT_CONFIG": configFile.path, "IMAGE_VERSION": "2026.11.1"]) {
                agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/mason/#"])
                defer { hub.close() }
                _ = try await hub.waitForMessage("online status") {
                    $0.topic == "fleet/mason/status" && String(decoding: $0.payload, as: UTF8.self).contains("online")
                }

                for command in FleetCommand.allCases {
                    try hub.publish("fleet/mason/command", "  \(command.rawValue)\n")
                    let plain = try await hub.waitForResponse(on: "fleet/mason/response", "plain \(command.rawValue)") {
                        $0.command == command.rawValue && $0.id == nil
                    }
                    #expect(plain.ok, "plain \(command.rawValue): \(String(describing: plain.error))")
                    #expect(plain.hatchling.rawValue == "mason")

                    let id = "c-\(command.rawValue)"
                    let correlation: [UInt8] = Array("corr-\(command.rawValue)".utf8)
                    try hub.publish(
                        "fleet/mason/command", #"{"command": "\#(command.rawValue)", "id": "\#(id)", "extra": [1,2]}"#, correlationData: correlation)
                    let json = try await hub.waitForResponse(on: "fleet/mason/response", "JSON \(command.rawValue)") { $0.id == id }
                    #expect(json.ok)
                    #expect(json.command == command.rawValue)
                    let raw = try #require(
                        hub.messages.last { $0.topic == "fleet/mason/response" && String(decoding: $0.payload, as: UTF8.self).contains(id) })
                    #expect(raw.correlationData == correlation)
                    #expect(raw.retain == false)

                    switch json.outcome {
                    case .health(let report):
                        // The gateway URL points at a closed port: down means unhealthy.
                        #expect(report.status == .unhealthy)
                        #expect(report.checks.gateway.ok == false)
                        #expect(report.checks.bus.ok)
                        #expect(report.checks.disk.freeBytes != nil)
                    case .version(let report):
                        #expect(report.agent == "1.0.0")
                        #expect(report.protocol == 1)
                        #expect(report.image == "2026.11.1")
                    case .reload(let report):
                        #expect(report.changed.isEmpty)
                        #expect(report.configSha256.count == 64)
                    case .status(let report):
                        #expect(report.heartbeat.hatchling.rawValue == "mason")
                        #expect(report.counters.connects >= 1)
                        #expect((report.counters.commands["ok"] ?? 0) >= 1)
                    case .failure(let body):
                        Issue.record("\(command.rawValue) failed: \(body)")
                    }
                }
                _ = agent
            }
        }
    }

    @Test("every error code a client can cause is answered, and the agent goes on")
    func errorCodes() async throws {
        try await withBroker { broker in
            let configFile = try makeTemporaryDirectory(prefix: "cfg").appendingPathComponent("agent.env")
            try "COMMAND_RATE_LIMIT=1000\n".write(to: configFile, atomically: true, encoding: .utf8)
            try await withAgent("rook", broker: broker, environment: ["HATCHLING_AGENT_CONFIG": configFile.path]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/rook/#"])
                defer { hub.close() }
                let topic = "fleet/rook/command"
                let responses = "fleet/rook/response"
                _ = try await hub.waitForMessage("online") { $0.topic == "fleet/rook/status" }

                try hub.publish(topic, #"{"command": 42, "id": "m-1"}"#)
                let malformed = try await hub.waitForResponse(on: responses, "malformed") { $0.id == "m-1" }
                #expect(malformed.error?.code == .malformed)

                try hub.publish(topic, #"{"command": "reboot", "id": "u-1"}"#)
                let unknown = try await hub.waitForResponse(on: responses, "unknown-command") { $0.id == "u-1" }
                #expect(unknown.error?.code == .unknownCommand)
                #expect(unknown.command == "reboot")

                try hub.publish(topic, #"{"command": "health-check", "id": "big", "pad": "\#(String(repeating: "x", count: 5000))"}"#)
                let tooLarge = try await hub.waitForResponse(on: responses, "too-large") { $0.error?.code == .tooLarge }
                #expect(tooLarge.id == nil, "a payload over the cap is never parsed, so its id is not read")

                try hub.publish(topic, bytes: [0xff, 0xfe, 0x41])
                _ = try await hub.waitForResponse(on: responses, "malformed (not UTF-8)") { $0.error?.message.contains("UTF-8") == true }

                try hub.publish(topic, #"{"command": "status-report", "id": "e-1", "expires_at": "2020-01-01T00:00:00Z"}"#)
                let expired = try await hub.waitForResponse(on: responses, "expired") { $0.id == "e-1" }
                #expect(expired.error?.code == .expired)

                try "COMMAND_RATE_LIMIT=not-a-number\n".write(to: configFile, atomically: true, encoding: .utf8)
                try hub.publish(topic, #"{"command": "config-reload", "id": "r-1"}"#)
                let reload = try await hub.waitForResponse(on: responses, "reload-failed") { $0.id == "r-1" }
                #expect(reload.error?.code == .reloadFailed)
                #expect(reload.error?.message.contains("COMMAND_RATE_LIMIT") == true)
                #expect(reload.error?.message.contains("not-a-number") == false, "errors never echo values")

                // Now a tight limit, applied by a good reload: a burst beyond it is refused.
                try "COMMAND_RATE_LIMIT=0.5\nCOMMAND_RATE_BURST=2\n".write(to: configFile, atomically: true, encoding: .utf8)
                try hub.publish(topic, #"{"command": "config-reload", "id": "r-2"}"#)
                let applied = try await hub.waitForResponse(on: responses, "reload applied") { $0.id == "r-2" }
                guard case .reload(let report) = applied.outcome else { Issue.record("reload failed: \(applied)"); return }
                #expect(report.changed.contains("COMMAND_RATE_LIMIT"))
                #expect(report.restartRequired.isEmpty)
                for index in 0..<6 { try hub.publish(topic, #"{"command": "version-report", "id": "flood-\#(index)"}"#) }
                let limited = try await hub.waitForResponse(on: responses, "rate-limited") { $0.error?.code == .rateLimited }
                #expect(limited.id?.hasPrefix("flood-") == true)

                // The agent is still there and still answers.
                #expect(agent.process?.isRunning == true)
                let counters = hub.messages.filter { $0.topic == responses }.count
                #expect(counters >= 8)
            }
        }
    }

    @Test("a redelivered id is answered again without running twice")
    func duplicateIDs() async throws {
        try await withBroker { broker in
            try await withAgent("wren", broker: broker) { _ in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/wren/#"])
                defer { hub.close() }
                _ = try await hub.waitForMessage("online") { $0.topic == "fleet/wren/status" }
                let command = #"{"command": "health-check", "id": "dup-1"}"#
                try hub.publish("fleet/wren/command", command)
                let first = try await hub.waitForResponse(on: "fleet/wren/response", "first answer") { $0.id == "dup-1" }
                try hub.publish("fleet/wren/command", command)
                try hub.publish("fleet/wren/command", #"{"command": "status-report", "id": "after-dup"}"#)
                let status = try await hub.waitForResponse(on: "fleet/wren/response", "status") { $0.id == "after-dup" }
                let answers = hub.messages.filter {
                    $0.topic == "fleet/wren/response" && String(decoding: $0.payload, as: UTF8.self).contains("dup-1")
                }
                #expect(answers.count == 2)
                #expect(answers.first?.payload == answers.last?.payload, "the earlier response is sent again, byte for byte")
                guard case .status(let report) = status.outcome else { Issue.record("status-report failed"); return }
                #expect(report.counters.duplicates == 1)
                #expect(report.counters.commands["ok"] == 1, "the duplicate did not run: only health-check counted")
                _ = first
            }
        }
    }

    @Test("broadcast commands are answered on the agent's own response topic")
    func broadcast() async throws {
        try await withBroker { broker in
            try await withAgent("ash", broker: broker) { _ in
                try await withAgent("elm", broker: broker) { _ in
                    let hub = try await TestHub.connect(to: broker, topics: ["fleet/+/response", "fleet/+/status"])
                    defer { hub.close() }
                    for name in ["ash", "elm"] {
                        _ = try await hub.waitForMessage("\(name) online") { $0.topic == "fleet/\(name)/status" }
                    }
                    try hub.publish("zephyr/broadcast", #"{"command": "version-report", "id": "b-1"}"#)
                    for name in ["ash", "elm"] {
                        let answer = try await hub.waitForResponse(on: "fleet/\(name)/response", "\(name) answer") { $0.id == "b-1" }
                        #expect(answer.hatchling.rawValue == name)
                        #expect(answer.ok)
                    }
                }
            }
        }
    }
}

@Suite("version-report finds the gateway's version", .serialized)
struct VersionDiscoveryTests {
    @Test("from `openclaw --version` on PATH, found once")
    func fromProgram() async throws {
        let bin = try makeTemporaryDirectory(prefix: "bin")
        let calls = bin.appendingPathComponent("calls")
        let script = bin.appendingPathComponent("openclaw")
        let seen = bin.appendingPathComponent("environment")
        try "#!/bin/sh\necho called >> '\(calls.path)'\nenv > '\(seen.path)'\necho 'OpenClaw v2026.1.5 (linux-x64)'\n".write(
            to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        try await withBroker { broker in
            let path = "\(bin.path):" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
            // The anonymous test broker takes any credentials; the password must not reach the program.
            let environment = ["PATH": path, "MQTT_USERNAME": "vole", "MQTT_PASSWORD": "sentinel-pw-5f2c9e"]
            try await withAgent("vole", broker: broker, environment: environment) { _ in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/vole/response", "fleet/vole/status"])
                defer { hub.close() }
                try await hub.waitOnline("vole")
                for index in 0..<2 {
                    try hub.publish("fleet/vole/command", #"{"command": "version-report", "id": "v-\#(index)"}"#)
                    let answer = try await hub.waitForResponse(on: "fleet/vole/response", "version \(index)") { $0.id == "v-\(index)" }
                    guard case .version(let report) = answer.outcome else { Issue.record("version-report failed"); return }
                    #expect(report.openclaw == "2026.1.5")
                    #expect(report.image == nil)
                }
                let called = try String(contentsOf: calls, encoding: .utf8).split(separator: "\n").count
                #expect(called == 1, "the version is found once and cached")
                let inherited = try String(contentsOf: seen, encoding: .utf8)
                #expect(!inherited.contains("sentinel-pw-5f2c9e") && !inherited.contains("MQTT_"), "the program saw: \(inherited)")
            }
        }
    }

    @Test("a program that others could have changed is not run: the gateway must not get the agent's user")
    func untrustedProgram() async throws {
        let bin = try makeTemporaryDirectory(prefix: "bin")
        let calls = bin.appendingPathComponent("calls")
        let script = bin.appendingPathComponent("openclaw")
        try "#!/bin/sh\necho called >> '\(calls.path)'\necho 'OpenClaw v2026.1.5'\n".write(to: script, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: script.path)
        // A directory anyone may write (not sticky): anyone could have put this program there.
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: bin.path)
        try await withBroker { broker in
            let path = "\(bin.path):/usr/bin:/bin"
            try await withAgent("shrew", broker: broker, environment: ["PATH": path]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/shrew/response", "fleet/shrew/status"])
                defer { hub.close() }
                try await hub.waitOnline("shrew")
                try hub.publish("fleet/shrew/command", #"{"command": "version-report", "id": "v-1"}"#)
                let answer = try await hub.waitForResponse(on: "fleet/shrew/response", "version") { $0.id == "v-1" }
                guard case .version(let report) = answer.outcome else { Issue.record("version-report failed"); return }
                #expect(report.openclaw == nil)
                #expect(!FileManager.default.fileExists(atPath: calls.path), "the program ran")
                #expect(agent.log().contains("which others may write"), "\(agent.log())")
            }
        }
    }

    @Test("OPENCLAW_VERSION wins; with nothing to find, openclaw is null")
    func fromEnvironmentOrNothing() async throws {
        try await withBroker { broker in
            for (name, environment, expected) in [
                ("newt", ["OPENCLAW_VERSION": "2026.2.0"], "2026.2.0" as String?), ("gnat", ["PATH": "/nonexistent"], nil),
            ] {
                try await withAgent(name, broker: broker, environment: environment) { _ in
                    let hub = try await TestHub.connect(to: broker, topics: ["fleet/\(name)/response", "fleet/\(name)/status"])
                    defer { hub.close() }
                    try await hub.waitOnline(name)
                    try hub.publish("fleet/\(name)/command", "version-report")
                    let answer = try await hub.waitForResponse(on: "fleet/\(name)/response", "version")
                    guard case .version(let report) = answer.outcome else { Issue.record("version-report failed"); return }
                    #expect(report.openclaw == expected)
                }
            }
        }
    }
}
