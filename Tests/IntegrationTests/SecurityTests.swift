import FleetProtocol
import FleetSigning
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// The template's broker configuration (ACL, passwords) and TLS, with a real mosquitto.
@Suite("Security over a real broker", .serialized)
struct SecurityTests {
    static let templateACL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("template/mosquitto/acl")

    /// A broker with the template's ACL and a password file for the hub and two hatchlings.
    func withACLBroker<T>(_ body: (TestBroker, URL) async throws -> T) async throws -> T {
        let secrets = try makeTemporaryDirectory(prefix: "secrets")
        let passwd = secrets.appendingPathComponent("passwd")
        for (index, user) in ["zephyr", "mason", "rook"].enumerated() {
            _ = try runProgram(try which("mosquitto_passwd"), (index == 0 ? ["-c"] : []) + ["-b", passwd.path, user, "\(user)-pw"])
            try "\(user)-pw\n".write(to: secrets.appendingPathComponent("\(user).pw"), atomically: true, encoding: .utf8)
            chmod(secrets.appendingPathComponent("\(user).pw").path, 0o600)
        }
        let port = try freePort()
        return try await withBroker(
            port: port,
            listenerConfig: """
                listener \(port) 127.0.0.1
                allow_anonymous false
                password_file \(passwd.path)
                acl_file \(Self.templateACL.path)
                """
        ) { broker in try await body(broker, secrets) }
    }

    @Test("the template ACL: a hatchling reads only its own commands, writes only its own topics, sends no command; the hub can")
    func acl() async throws {
        try await withACLBroker { broker, secrets in
            let env = ["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": secrets.appendingPathComponent("mason.pw").path]
            try await withAgent("mason", broker: broker, environment: env) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"], username: "zephyr", password: "zephyr-pw")
                defer { hub.close() }
                try await hub.waitOnline("mason")
                // The hub can command a hatchling.
                try hub.publish("fleet/mason/command", #"{"command": "status-report", "id": "acl-1"}"#)
                let answer = try await hub.waitForResponse(on: "fleet/mason/response", "answer through the ACL") { $0.id == "acl-1" }
                guard case .status(let report) = answer.outcome else { Issue.record("status-report failed"); return }
                #expect(report.counters.lastError == nil, "the broker accepted every publish of the agent")

                // A rogue client with mason's credentials (the agent's own id is taken, so another id).
                let rogue = try await TestHub.connect(
                    to: broker, topics: ["fleet/rook/command", "fleet/mason/command", "zephyr/broadcast"], username: "mason",
                    password: "mason-pw")
                defer { rogue.close() }
                #expect(try await rogue.publishAndWaitForAck("fleet/rook/status", #"{"state":"offline"}"#) == .notAuthorized)
                #expect(try await rogue.publishAndWaitForAck("fleet/mason/command", "health-check") == .notAuthorized)
                #expect(try await rogue.publishAndWaitForAck("zephyr/broadcast", "health-check") == .notAuthorized)
                #expect(try await rogue.publishAndWaitForAck("fleet/mason/heartbeat", "{}") == .success, "its own topics are allowed")
                #expect(try await rogue.publishAndWaitForAck("fleet/mason/event", "{}") == .success, "its own events too")
                #expect(try await rogue.publishAndWaitForAck("fleet/rook/event", "{}") == .notAuthorized, "never another's events")

                // rook's command must not reach mason; the broadcast after it does (same publisher, in order).
                try hub.publish("fleet/rook/command", "health-check")
                try hub.publish("zephyr/broadcast", #"{"command": "version-report", "id": "marker"}"#)
                _ = try await rogue.waitForMessage("the broadcast marker") { $0.topic == "zephyr/broadcast" }
                #expect(!rogue.messages.contains { $0.topic == "fleet/rook/command" })
                // The hub never saw mason's forged status for rook.
                _ = try await hub.waitForResponse(on: "fleet/mason/response", "marker answer") { $0.id == "marker" }
                #expect(!hub.messages.contains { $0.topic == "fleet/rook/status" })
                #expect(!agent.log().contains("broker refused a publish"))
            }
        }
    }

    @Test("refused credentials: one clear log line, backoff, no connection storm; the agent stays up")
    func refusedCredentials() async throws {
        try await withACLBroker { broker, secrets in
            let wrong = secrets.appendingPathComponent("wrong.pw")
            try "not-the-password\n".write(to: wrong, atomically: true, encoding: .utf8)
            chmod(wrong.path, 0o600)
            try await withAgent(
                "mason", broker: broker,
                environment: ["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": wrong.path, "MQTT_RECONNECT_MAX": "2"]
            ) { agent in
                try await waitForLog(agent, containing: "waiting before the next attempt", count: 4, timeout: 30)
                let log = agent.log()
                #expect(log.components(separatedBy: "broker refused the connection").count - 1 == 1, "\(log)")
                #expect(log.contains("not authorised") || log.contains("Not authorized") || log.contains("Bad user name or password"))
                #expect(!log.contains("not-the-password"))
                #expect(agent.process?.isRunning == true)
            }
        }
    }

    @Test("a password file others can read is a warning, not an error")
    func passwordFileWarning() throws {
        let file = try makeTemporaryDirectory(prefix: "pw").appendingPathComponent("pw")
        try "secret\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(file.path, 0o644)
        let result = try runAgentCommand(
            ["check-config"], environment: ["HATCHLING_NAME": "mason", "MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": file.path])
        #expect(result.status == 0)
        #expect(result.stderr.contains("MQTT_PASSWORD_FILE names a file that other users can read (mode 644): chmod 600 it"))
    }
}

/// TLS with a CA made at test time: verified broker certificate and host name, client certificates.
@Suite("TLS", .serialized)
struct TLSTests {
    func withTLSBroker<T>(_ pki: TestPKI, serverSAN: String, _ body: (TestBroker) async throws -> T) async throws -> T {
        let server = try pki.issue("broker-\(UUID().uuidString.prefix(4))", subjectAltNames: serverSAN)
        let port = try freePort()
        return try await withBroker(
            port: port,
            listenerConfig: """
                listener \(port) 127.0.0.1
                cafile \(pki.caFile)
                certfile \(server.cert)
                keyfile \(server.key)
                require_certificate true
                use_identity_as_username true
                allow_anonymous false
                acl_file \(SecurityTests.templateACL.path)
                """, body)
    }

    func tlsEnvironment(_ pki: TestPKI, ca: String? = nil) throws -> [String: String] {
        let client = try pki.issue("mason")
        return ["MQTT_TLS_CA": ca ?? pki.caFile, "MQTT_TLS_CERT": client.cert, "MQTT_TLS_KEY": client.key]
    }

    @Test("with the fleet CA and a client certificate (CN = name) the agent comes online over TLS")
    func verified() async throws {
        let pki = try TestPKI()
        try await withTLSBroker(pki, serverSAN: "IP:127.0.0.1,DNS:localhost") { broker in
            let hubCert = try pki.issue("zephyr")
            let hub = try await TestHub.connect(
                to: broker, topics: ["fleet/#"], tls: MQTTTLSOptions(caFile: pki.caFile, certFile: hubCert.cert, keyFile: hubCert.key))
            defer { hub.close() }
            try await withAgent("mason", broker: broker, environment: try tlsEnvironment(pki)) { _ in
                try await hub.waitOnline("mason")
                try hub.publish("fleet/mason/command", "health-check")
                _ = try await hub.waitForResponse(on: "fleet/mason/response", "answer over TLS")
            }
        }
    }

    @Test("a broker signed by another CA, or whose certificate names another host, is refused", arguments: ["other-ca", "other-host"])
    func refused(_ fault: String) async throws {
        let pki = try TestPKI()
        let other = try TestPKI(name: "Some Other CA")
        let serverPKI = fault == "other-ca" ? other : pki
        let san = fault == "other-host" ? "DNS:broker.example" : "IP:127.0.0.1,DNS:localhost"
        try await withTLSBroker(serverPKI, serverSAN: san) { broker in
            // The client certificate comes from the broker's CA, so only the agent's check can fail.
            let client = try serverPKI.issue("mason")
            let environment = ["MQTT_TLS_CA": pki.caFile, "MQTT_TLS_CERT": client.cert, "MQTT_TLS_KEY": client.key, "MQTT_RECONNECT_MAX": "1"]
            try await withAgent("mason", broker: broker, environment: environment) { agent in
                try await waitForLog(agent, containing: "waiting before the next attempt", count: 3, timeout: 30)
                #expect(!agent.log().contains("info hatchling-agent: connected"), "\(agent.log())")
                #expect(agent.log().contains("cannot connect to"))
                #expect(agent.log().contains("certificate verify failed"), "the log says why, in OpenSSL's words")
            }
        }
    }
}

/// Signed commands end to end, and ADR-005: nothing secret or personal ever crosses the bus.
@Suite("Signed commands and data isolation", .serialized)
struct SignedAndIsolationTests {
    static let keyText = "5f0c1a6e9b2d4f7a8c3e1b0d9f6a2c4e"

    func signed(id: String, command: String = "status-report", ts: FleetTimestamp = .now()) -> String {
        signedCommand(CommandKey(Self.keyText)!, name: "sable", id: id, command: command, ts: ts)
    }

    @Test("valid, unsigned, wrongly signed, stale and replayed commands against a keyed agent")
    func signedCommands() async throws {
        let keyFile = try makeTemporaryDirectory(prefix: "key").appendingPathComponent("command-key")
        try "\(Self.keyText)\n".write(to: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile.path, 0o600)
        try await withBroker { broker in
            try await withAgent("sable", broker: broker, environment: ["FLEET_COMMAND_KEY_FILE": keyFile.path]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/sable/#"])
                defer { hub.close() }
                try await hub.waitOnline("sable")
                let topic = "fleet/sable/command"
                let responses = "fleet/sable/response"
                let good = signed(id: "g-1")
                try hub.publish(topic, good)
                let first = try await hub.waitForResponse(on: responses, "signed answer") { $0.id == "g-1" }
                #expect(first.ok)
                for (id, payload) in [
                    ("u-1", #"{"command":"status-report","id":"u-1","ts":"\#(FleetTimestamp.now())"}"#),
                    ("w-1", signed(id: "w-1").replacingOccurrences(of: "\"sig\":\"", with: "\"sig\":\"ff")),
                    ("s-1", signed(id: "s-1", ts: FleetTimestamp.now().adding(seconds: -600))),
                ] {
                    try hub.publish(topic, payload)
                    let refused = try await hub.waitForResponse(on: responses, "refusal of \(id)") { $0.id == id }
                    #expect(refused.error?.code == .unauthorized, "\(id)")
                }
                try hub.publish(topic, "health-check")
                _ = try await hub.waitForResponse(on: responses, "plain text refused") { $0.id == nil && $0.error?.code == .unauthorized }
                try hub.publish(topic, good)
                try hub.publish(topic, signed(id: "g-2"))
                let status = try await hub.waitForResponse(on: responses, "second signed answer") { $0.id == "g-2" }
                let replies = hub.messages.filter { $0.topic == responses && String(decoding: $0.payload, as: UTF8.self).contains("\"g-1\"") }
                #expect(replies.count == 2 && replies[0].payload == replies[1].payload, "the replay got the earlier answer")
                guard case .status(let report) = status.outcome else { Issue.record("status-report failed"); return }
                #expect(report.counters.commands["ok"] == 1, "only g-1 ran before g-2 (the replay ran nothing)")
                #expect(report.counters.commands["unauthorized"] == 4)
                #expect(report.counters.duplicates == 1)
                #expect(!agent.log().contains(Self.keyText))
            }
        }
    }

    @Test("secrets in the environment and personal files in the data directory never reach the bus or the logs")
    func dataIsolation() async throws {
        let secrets = [
            "ANTHROPIC_API_KEY": "sk-ant-api03-SECRETSECRETSECRET000111",
            "OPENAI_API_KEY": "sk-proj-SECRETOPENAI222333",
            "TELEGRAM_BOT_TOKEN": "7012345678:AAH-secret-bot-token-444555",
            "MQTT_PASSWORD": "mqtt-password-666777",
            "CRM_DATABASE_URL": "postgres://crm:crm-pass-888999@db/customers",
        ]
        let dataDir = try makeTemporaryDirectory(prefix: "data")
        let personal = [
            "customers.csv": "Jane Doe,jane.doe@example.com,+1-555-0100\n",
            "sessions/chat-2026-11-28.json": #"{"user":"John Roe","message":"my card number is 4111 1111 1111 1111"}"#,
            "vault/notes.md": "passport number X1234567\n",
        ]
        for (path, content) in personal {
            let url = dataDir.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url, atomically: true, encoding: .utf8)
        }
        try await withBroker(extraConfig: "") { broker in
            var environment = secrets
            environment["MQTT_USERNAME"] = "quill"
            environment["HATCHLING_DATA_DIR"] = dataDir.path
            environment["HEARTBEAT_INTERVAL"] = "1"
            let hub = try await TestHub.connect(to: broker, topics: ["#"])
            defer { hub.close() }
            try await withAgent("quill", broker: broker, environment: environment) { agent in
                try await hub.waitOnline("quill")
                for command in FleetCommand.allCases {
                    try hub.publish("fleet/quill/command", #"{"command":"\#(command.rawValue)","id":"iso-\#(command.rawValue)"}"#)
                    _ = try await hub.waitForResponse(on: "fleet/quill/response", command.rawValue) { $0.id == "iso-\(command.rawValue)" }
                }
                _ = try await hub.waitForMessage("three heartbeats") { message in
                    (try? FleetJSON.decode(Heartbeat.self, from: message.payload))?.seq ?? 0 >= 3
                }
                await agent.stop()
                let bus = hub.messages.filter { !$0.topic.hasSuffix("/command") }.map { String(decoding: $0.payload, as: UTF8.self) }.joined(
                    separator: "\n")
                #expect(bus.count > 1000, "something was captured")
                // The card number whole: "4111" alone is found in ordinary figures (a disk with
                // 74,111,119,360 bytes free made this test fail).
                let forbidden =
                    Array(secrets.values) + [
                        "Jane", "jane.doe", "John Roe", "4111 1111 1111 1111", "X1234567", "customers.csv", "chat-2026", "vault",
                    ]
                for needle in forbidden {
                    #expect(!bus.contains(needle), "\(needle) reached the bus")
                    #expect(!agent.log().contains(needle), "\(needle) reached the log")
                }
                let check = try runAgentCommand(["check-config"], environment: environment.merging(["HATCHLING_NAME": "quill"]) { $1 })
                #expect(check.stdout.split(separator: "\n").contains { $0.hasPrefix("MQTT_PASSWORD ") && $0.contains(" ***  [") }, "\(check.stdout)")
                for needle in secrets.values { #expect(!check.stdout.contains(needle)) }
            }
        }
    }
}

@Suite("add-hatchling.sh")
struct AddHatchlingTests {
    static let script = SecurityTests.templateACL.deletingLastPathComponent().appendingPathComponent("add-hatchling.sh")

    @Test("adds a broker user with a random password and a 32-byte key, files private, env lines printed; the broker accepts the user")
    func addsUser() async throws {
        let directory = try makeTemporaryDirectory(prefix: "add")
        let passwd = directory.appendingPathComponent("passwd")
        let secrets = directory.appendingPathComponent("secrets")
        let output = try runProgram("/bin/bash", [Self.script.path, "wren", passwd.path, secrets.path])
        #expect(output.contains("MQTT_USERNAME=wren"))
        #expect(output.contains("FLEET_COMMAND_KEY_FILE=/run/secrets/hatchling/command-key"))
        let key = try String(contentsOf: secrets.appendingPathComponent("wren/command-key"), encoding: .utf8)
        #expect(key.trimmingCharacters(in: .whitespacesAndNewlines).count == 64)
        #expect(try String(contentsOf: secrets.appendingPathComponent("keys/wren.key"), encoding: .utf8) == key)
        let mode =
            try FileManager.default.attributesOfItem(atPath: secrets.appendingPathComponent("wren/command-key").path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try String(contentsOf: passwd, encoding: .utf8).hasPrefix("wren:"))
        #expect(throws: (any Error).self) { try runProgram("/bin/bash", [Self.script.path, "bad/name", passwd.path, secrets.path]) }

        // The broker takes the new user, and the key it printed signs commands the agent accepts.
        let port = try freePort()
        let broker = try TestBroker(
            port: port, listenerConfig: "listener \(port) 127.0.0.1\nallow_anonymous false\npassword_file \(passwd.path)")
        try await broker.start()
        do {
            try await withAgent(
                "wren", broker: broker,
                environment: [
                    "MQTT_USERNAME": "wren", "MQTT_PASSWORD_FILE": secrets.appendingPathComponent("wren/mqtt-password").path,
                    "FLEET_COMMAND_KEY_FILE": secrets.appendingPathComponent("wren/command-key").path,
                ]
            ) { agent in
                try await waitForLog(agent, containing: "info hatchling-agent: connected")
                #expect(!agent.log().contains("warning hatchling-agent: MQTT_PASSWORD_FILE"), "the files are private: no warning")
            }
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
    }
}
