import FleetProtocol
import FleetSigning
import Foundation
import HatchlingSystem
import Testing

/// Issue 12, items 3-5: what a hostile neighbour (the gateway, in the same container) can put at
/// the configuration file's path, and what a reload may change.
@Suite("Hostile configuration files", .serialized)
struct HostileConfigurationTests {
    static let keyText = "8d1f3b5a7c9e0d2f4a6b8c0e1f3a5b7c"

    func signed(_ name: String, id: String, command: String) -> String {
        signedCommand(CommandKey(Self.keyText)!, name: name, id: id, command: command)
    }

    /// An agent whose settings come from a file in a directory of its own; `body` gets the file.
    func withFileAgent(
        _ name: String, config: String, _ body: (TestBroker, TestAgent, TestHub, URL) async throws -> Void
    ) async throws {
        let directory = try makeTemporaryDirectory(prefix: "hostile-config")
        let file = directory.appendingPathComponent("agent.env")
        try config.write(to: file, atomically: true, encoding: .utf8)
        try await withBroker { broker in
            try await withAgent(name, broker: broker, environment: ["HATCHLING_AGENT_CONFIG": file.path]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/\(name)/#"])
                defer { hub.close() }
                try await hub.waitOnline(name)
                try await body(broker, agent, hub, file)
            }
        }
    }

    @Test(
        "a FIFO, a device or a huge file as the configuration: the reload is refused at once, heartbeats and commands go on",
        arguments: ["fifo", "device", "huge"])
    func nonRegularConfiguration(_ kind: String) async throws {
        try await withFileAgent("fern", config: "HEARTBEAT_INTERVAL=1\n") { _, agent, hub, file in
            try FileManager.default.removeItem(at: file)
            switch kind {
            case "fifo": #expect(mkfifo(file.path, 0o600) == 0)
            case "device": try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: "/dev/zero")
            default: try String(repeating: "# padding\n", count: 20_000).write(to: file, atomically: true, encoding: .utf8)
            }
            try hub.publish("fleet/fern/command", #"{"command": "config-reload", "id": "r-\#(kind)"}"#)
            let answer = try await hub.waitForResponse(on: "fleet/fern/response", "reload refused", timeout: 10) { $0.id == "r-\(kind)" }
            #expect(answer.error?.code == .reloadFailed)
            let message = answer.error?.message ?? ""
            #expect(message.contains(kind == "huge" ? "larger than" : "not a regular file"), "\(message)")
            #expect(!message.contains(file.deletingLastPathComponent().path), "no path on the bus: \(message)")
            // The network thread is free: heartbeats keep coming, and the next command is answered.
            let before = hub.messages.filter { $0.topic == "fleet/fern/heartbeat" }.count
            try await waitFor("two more heartbeats", timeout: 10) {
                hub.messages.filter { $0.topic == "fleet/fern/heartbeat" }.count >= before + 2
            }
            try hub.publish("fleet/fern/command", #"{"command": "status-report", "id": "after-\#(kind)"}"#)
            let status = try await hub.waitForResponse(on: "fleet/fern/response", "status after") { $0.id == "after-\(kind)" }
            guard case .status(let report) = status.outcome else { throw TestError("status-report failed: \(status)") }
            #expect(report.counters.reloadFailures == 1)
            #expect(report.heartbeat.intervalS == 1, "the old settings stay in force")
            _ = agent
        }
    }

    @Test("signing, once on, stays on: a reload that drops the key is refused and unsigned commands still do not run")
    func signingStaysOn() async throws {
        let directory = try makeTemporaryDirectory(prefix: "key")
        let keyFile = directory.appendingPathComponent("command-key")
        try "\(Self.keyText)\n".write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)
        try await withFileAgent("fern", config: "FLEET_COMMAND_KEY_FILE=\(keyFile.path)\n") { _, _, hub, file in
            try "FLEET_COMMAND_KEY_FILE=\n".write(to: file, atomically: true, encoding: .utf8)
            try hub.publish("fleet/fern/command", signed("fern", id: "drop-key", command: "config-reload"))
            let reload = try await hub.waitForResponse(on: "fleet/fern/response", "reload refused") { $0.id == "drop-key" }
            #expect(reload.error?.code == .reloadFailed)
            #expect(reload.error?.message.contains("signing cannot be turned off") == true, "\(reload)")
            try hub.publish("fleet/fern/command", #"{"command": "status-report", "id": "unsigned-after"}"#)
            let refused = try await hub.waitForResponse(on: "fleet/fern/response", "unsigned refused") { $0.id == "unsigned-after" }
            #expect(refused.error?.code == .unauthorized)
            // Rotation is still allowed.
            let rotated = directory.appendingPathComponent("command-key-2")
            try "\(Self.keyText)\n".write(to: rotated, atomically: true, encoding: .utf8)
            chmod(rotated.path, 0o600)
            try "FLEET_COMMAND_KEY_FILE=\(rotated.path)\n".write(to: file, atomically: true, encoding: .utf8)
            try hub.publish("fleet/fern/command", signed("fern", id: "rotate", command: "config-reload"))
            let rotation = try await hub.waitForResponse(on: "fleet/fern/response", "rotation") { $0.id == "rotate" }
            #expect(rotation.ok, "\(rotation)")
        }
    }

    @Test("a bad configuration line reaches the bus only as its variable, rule and line number: never its text or the file's path")
    func publicErrors() async throws {
        let secretLine = "c2stbGl2ZS1TRUNSRVQtdG9rZW4xMjM0NTY3ODkw=="
        try await withFileAgent("fern", config: "HEARTBEAT_INTERVAL=30\n") { _, agent, hub, file in
            try "HEARTBEAT_INTERVAL=30\n\(secretLine)\n".write(to: file, atomically: true, encoding: .utf8)
            try hub.publish("fleet/fern/command", #"{"command": "config-reload", "id": "bad-line"}"#)
            let reload = try await hub.waitForResponse(on: "fleet/fern/response", "reload refused") { $0.id == "bad-line" }
            #expect(reload.error?.code == .reloadFailed)
            try hub.publish("fleet/fern/command", #"{"command": "status-report", "id": "last-error"}"#)
            let status = try await hub.waitForResponse(on: "fleet/fern/response", "status") { $0.id == "last-error" }
            guard case .status(let report) = status.outcome else { throw TestError("status-report failed: \(status)") }
            let lastError = try #require(report.counters.lastError)
            #expect(lastError.contains("line 2"), "\(lastError)")
            let directory = file.deletingLastPathComponent().path
            for message in hub.messages {
                let text = String(decoding: message.payload, as: UTF8.self)
                #expect(!text.contains("c2stbGl2ZS1TRUNSRVQ"), "the line's text on \(message.topic)")
                #expect(!text.contains(directory), "the file's directory on \(message.topic)")
            }
            #expect(!agent.log().contains("c2stbGl2ZS1TRUNSRVQ"), "nor in the log")
        }
    }
}
