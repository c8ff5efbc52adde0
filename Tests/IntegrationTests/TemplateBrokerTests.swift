import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// The template's OWN broker configuration (template/mosquitto/mosquitto.conf and acl), rendered
/// into a temporary folder with only paths, ports (free, 127.0.0.1), `user root` and the log file
/// changed, and run by a real mosquitto; users made by the template's own scripts.
@Suite("Template broker: client id bound to the user, hub listener, TLS", .serialized)
struct TemplateBrokerTests {
    static let mosquittoDirectory = DeploymentTests.template.appendingPathComponent("mosquitto")

    @Test(
        "template mosquitto.conf: per-listener settings; both hatchling listeners bind the client id to the username; TLS requires a certificate; the hub listener has its own password file"
    )
    func directives() throws {
        let blocks = try TemplateBroker.listenerBlocks()
        #expect(blocks.global.contains("per_listener_settings true"))
        #expect(Set(blocks.listeners.keys) == [1883, 1884, 8883], "listeners: \(blocks.listeners.keys.sorted())")
        let plain = blocks.listeners[1883] ?? []
        for line in [
            "use_username_as_clientid true", "allow_anonymous false", "password_file /mosquitto/config/passwd", "acl_file /mosquitto/config/acl",
        ] {
            #expect(plain.contains(line), "listener 1883 lacks `\(line)`")
        }
        let tls = blocks.listeners[8883] ?? []
        for line in [
            "use_username_as_clientid true", "require_certificate true", "use_identity_as_username true", "tls_version tlsv1.2",
            "allow_anonymous false", "acl_file /mosquitto/config/acl", "cafile /mosquitto/config/certs/ca.crt",
        ] {
            #expect(tls.contains(line), "listener 8883 lacks `\(line)`")
        }
        let hub = blocks.listeners[1884] ?? []
        for line in ["allow_anonymous false", "password_file /mosquitto/config/hub-passwd", "acl_file /mosquitto/config/acl"] {
            #expect(hub.contains(line), "listener 1884 lacks `\(line)`")
        }
        #expect(!hub.contains("use_username_as_clientid true"), "the hub needs several connections with their own client ids")
    }

    @Test(
        "rook's credentials cannot take mason's session (client id mason or fleet-handler-mason), read its commands, write its status, or log in on the hub listener; the hub runs two fleetctl at once"
    )
    func clientIDBoundToUsername() async throws {
        let broker = try TemplateBroker()
        try await broker.start()
        defer { broker.stop() }
        let mason = try broker.password("mason")
        let rook = try broker.password("rook")
        let agentEnvironment = ["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": broker.passwordFile("mason").path]
        try await withAgent("mason", broker: broker.hatchlingHandle, environment: agentEnvironment) { agent in
            let hub = try await TestHub.connect(
                to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
            defer { hub.close() }
            try await hub.waitOnline("mason")

            // (a) A short-lived client with rook's credentials and mason's client id: it is logged in as rook.
            let takeover = try broker.client(
                "mosquitto_pub", port: broker.hatchlingPort,
                ["-u", "rook", "-P", rook, "-i", "mason", "-q", "1", "-t", "fleet/rook/status", "-m", "x"])
            #expect(takeover.status == 0, "rook may log in (as rook): \(takeover.stderr)")
            // A long-lived one with the old shell handler's client id, subscribed to mason's commands.
            let rogue = try await TestHub.connect(
                to: broker.hatchlingHandle, topics: ["fleet/mason/command", "fleet/rook/command"], protocolVersion: .v5,
                clientID: "fleet-handler-mason", username: "rook", password: rook)
            defer { rogue.close() }
            try await waitFor("the broker logs both of rook's connections as rook", timeout: 20) {
                broker.log().components(separatedBy: " as rook (").count - 1 >= 2
            }

            // mason answers the hub while rook's client is connected.
            try hub.publish("fleet/mason/command", #"{"command": "status-report", "id": "bound-1"}"#)
            let answer = try await hub.waitForResponse(on: "fleet/mason/response", "mason's answer", timeout: 20) { $0.id == "bound-1" }
            #expect(answer.ok)

            // (b) rook saw none of mason's commands: a marker to rook, sent after, arrives first.
            try hub.publish("fleet/rook/command", "marker-b")
            _ = try await rogue.waitForMessage("the marker on rook's own command topic", timeout: 20) { $0.topic == "fleet/rook/command" }
            #expect(!rogue.messages.contains { $0.topic == "fleet/mason/command" }, "rook read mason's command")

            // (c) rook cannot write mason's status (MQTT 5: PUBACK 135), and the hub never sees it.
            #expect(try await rogue.publishAndWaitForAck("fleet/mason/status", #"{"state":"offline","forged":true}"#) == .notAuthorized)
            #expect(try await rogue.publishAndWaitForAck("fleet/rook/status", "marker-c") == .success)
            _ = try await hub.waitForMessage("rook's own status marker", timeout: 20) {
                $0.topic == "fleet/rook/status" && $0.payload == Array("marker-c".utf8)
            }
            #expect(!hub.messages.contains { $0.topic == "fleet/mason/status" && String(decoding: $0.payload, as: UTF8.self).contains("forged") })

            // mason was never pushed off: one connection in the broker's log, no offline or lost status.
            let log = broker.log()
            #expect(log.components(separatedBy: " as mason (").count - 1 == 1, "mason connected once:\n\(log)")
            #expect(!log.contains("Client mason already connected"), "\(log)")
            #expect(!log.contains("as fleet-handler-mason"), "the client id sent was replaced by the username")
            let masonStates = hub.messages.filter { $0.topic == "fleet/mason/status" }
                .compactMap { try? FleetJSON.decode(StatusPayload.self, from: $0.payload).state }
            #expect(!masonStates.contains(.offline), "mason's states (an offline status is Last Will or shutdown): \(masonStates)")
            #expect(!agent.log().contains("disconnected"), "the agent never lost its connection:\n\(agent.log())")

            // (d) The hub listener knows the hub's users alone: rook's and mason's passwords are refused
            // there, and zephyr's and zephyr-admin's on the hatchlings' listener.
            for (user, password, port) in [
                ("rook", rook, broker.hubPort), ("mason", mason, broker.hubPort), ("zephyr", broker.hubPassword, broker.hatchlingPort),
                ("zephyr-admin", broker.adminPassword, broker.hatchlingPort),
            ] {
                let refused = try broker.client(
                    "mosquitto_pub", port: port, ["-u", user, "-P", password, "-q", "1", "-t", "fleet/\(user)/status", "-m", "x"])
                #expect(refused.status != 0, "\(user) logged in on port \(port)")
                #expect(refused.stderr.contains("not authorised"), "\(user) on \(port): \(refused.stderr)")
            }

            // (e) The hub: two fleetctl at once (each with its own client id) while the hub client stays connected.
            let environment = Fleetctl.environment(
                broker.hatchlingHandle,
                [
                    "MQTT_PORT": String(broker.hubPort), "MQTT_USERNAME": "zephyr", "MQTT_PASSWORD_FILE": broker.hubPasswordFile.path,
                ])
            async let first = Fleetctl.run(["send", "mason", "health-check", "--json"], environment: environment)
            async let second = Fleetctl.run(["send", "mason", "version-report", "--json"], environment: environment)
            let results = try await [first, second]
            for result in results {
                #expect(result.status == 0, "fleetctl send: \(result.stderr)")
            }
            #expect(!broker.log().contains("already connected"), "no connection took over another:\n\(broker.log())")
            try hub.publish("fleet/mason/command", #"{"command": "health-check", "id": "bound-2"}"#)
            _ = try await hub.waitForResponse(on: "fleet/mason/response", "the hub still connected", timeout: 20) { $0.id == "bound-2" }
        }
    }

    @Test(
        "make-ca.sh and add-hatchling.sh --tls: the agent comes online over the template's TLS listener; rook's certificate cannot take mason's session; no certificate, no connection"
    )
    func tlsListener() async throws {
        let broker = try TemplateBroker()
        try await broker.start()
        defer { broker.stop() }
        let secrets = broker.directory.appendingPathComponent("secrets")
        let environment = [
            "MQTT_PORT": String(broker.tlsPort),
            "MQTT_TLS_CA": secrets.appendingPathComponent("mason/ca.crt").path,
            "MQTT_TLS_CERT": secrets.appendingPathComponent("mason/client.crt").path,
            "MQTT_TLS_KEY": secrets.appendingPathComponent("mason/client.key").path,
        ]
        try await withAgent("mason", broker: broker.hatchlingHandle, environment: environment) { agent in
            let hub = try await TestHub.connect(
                to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
            defer { hub.close() }
            try await hub.waitOnline("mason")
            #expect(broker.log().contains("on port \(broker.tlsPort)"))

            // rook's own certificate, mason's client id: logged in (and bound) as rook.
            let ca = broker.directory.appendingPathComponent("certs/ca.crt").path
            let rookCert = [
                "--cafile", ca, "--cert", secrets.appendingPathComponent("rook/client.crt").path,
                "--key", secrets.appendingPathComponent("rook/client.key").path,
            ]
            let takeover = try broker.client(
                "mosquitto_pub", port: broker.tlsPort, rookCert + ["-i", "mason", "-q", "1", "-t", "fleet/mason/status", "-m", "forged-tls"])
            #expect(takeover.status == 0, "rook's certificate logs in, as rook: \(takeover.stderr)")
            try await waitFor("rook's TLS connection in the broker's log", timeout: 20) { broker.log().contains(" as rook (") }

            // No client certificate: refused during the handshake.
            let anonymous = try broker.client(
                "mosquitto_pub", port: broker.tlsPort, ["--cafile", ca, "-q", "1", "-t", "fleet/rook/status", "-m", "x"])
            #expect(anonymous.status != 0, "a client without a certificate connected")
            // A certificate from another CA: refused as well.
            let other = try TestPKI(name: "Not The Fleet CA")
            let stranger = try other.issue("mason")
            let foreign = try broker.client(
                "mosquitto_pub", port: broker.tlsPort,
                ["--cafile", ca, "--cert", stranger.cert, "--key", stranger.key, "-q", "1", "-t", "fleet/mason/status", "-m", "forged-ca"])
            #expect(foreign.status != 0, "a certificate from another CA connected")

            try hub.publish("fleet/mason/command", #"{"command": "status-report", "id": "tls-1"}"#)
            _ = try await hub.waitForResponse(on: "fleet/mason/response", "mason's answer over TLS", timeout: 20) { $0.id == "tls-1" }
            let log = broker.log()
            #expect(log.components(separatedBy: " as mason (").count - 1 == 1, "mason connected once:\n\(log)")
            #expect(!log.contains("Client mason already connected"))
            #expect(!hub.messages.contains { $0.topic == "fleet/mason/status" && String(decoding: $0.payload, as: UTF8.self).hasPrefix("forged") })
            #expect(!agent.log().contains("disconnected"), "\(agent.log())")
        }
    }

    @Test(
        "add-hatchling.sh refuses the hub's names, the hub's key folder and fleetctl's client ids; make-ca.sh keeps its keys 0600 and refuses to overwrite a CA; add-hub.sh writes zephyr alone, --admin adds zephyr-admin to it (and refuses without it)"
    )
    func scriptsRefuse() throws {
        let directory = try makeTemporaryDirectory(prefix: "scripts")
        let passwd = directory.appendingPathComponent("passwd")
        for name in ["zephyr", "zephyr-admin", "keys", "fleetctl", "fleetctl-1a2b3c4d"] {
            let result = try runProcess(
                Self.mosquittoDirectory.appendingPathComponent("add-hatchling.sh").path,
                [name, passwd.path, directory.appendingPathComponent("secrets").path],
                environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
            #expect(result.status == 2, "\(name): \(result.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: passwd.path))

        let certs = directory.appendingPathComponent("certs")
        let makeCA = Self.mosquittoDirectory.appendingPathComponent("make-ca.sh").path
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let made = try runProcess(makeCA, ["-o", certs.path, "broker.example", "10.0.0.7"], environment: environment)
        #expect(made.status == 0, "\(made.stderr)")
        for key in ["ca.key", "broker.key"] {
            let mode = try FileManager.default.attributesOfItem(atPath: certs.appendingPathComponent(key).path)[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key): mode \(String(mode ?? 0, radix: 8))")
        }
        let text = try runProgram(try which("openssl"), ["x509", "-in", certs.appendingPathComponent("broker.crt").path, "-noout", "-text"])
        #expect(text.contains("DNS:broker.example") && text.contains("IP Address:10.0.0.7"), "\(text)")
        let before = try Data(contentsOf: certs.appendingPathComponent("ca.crt"))
        let again = try runProcess(makeCA, ["-o", certs.path, "broker.example"], environment: environment)
        #expect(again.status == 1)
        #expect(again.stderr.contains("already holds a CA"))
        #expect(try Data(contentsOf: certs.appendingPathComponent("ca.crt")) == before)

        // add-hub.sh: zephyr alone in hub-passwd, a random password in a 0600 file, never printed.
        let hubPasswd = directory.appendingPathComponent("hub-passwd")
        let secrets = directory.appendingPathComponent("secrets")
        let addHub = Self.mosquittoDirectory.appendingPathComponent("add-hub.sh").path
        func hubUsers() throws -> [String] {
            try String(contentsOf: hubPasswd, encoding: .utf8).split(separator: "\n").map { String($0.split(separator: ":")[0]) }
        }
        func secret(_ user: String) throws -> String {
            try String(contentsOf: secrets.appendingPathComponent("\(user)/mqtt-password"), encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines)
        }
        func mode(_ user: String) throws -> Int? {
            try FileManager.default.attributesOfItem(atPath: secrets.appendingPathComponent("\(user)/mqtt-password").path)[.posixPermissions] as? Int
        }

        // --admin before the hub's file exists: refused, nothing written.
        let early = try runProcess(addHub, ["--admin", hubPasswd.path, secrets.path], environment: environment)
        #expect(early.status == 1 && early.stderr.contains("run add-hub.sh (without --admin) first"), "\(early.stderr)")
        #expect(!FileManager.default.fileExists(atPath: hubPasswd.path))
        #expect(!FileManager.default.fileExists(atPath: secrets.appendingPathComponent("zephyr-admin").path))
        let unknown = try runProcess(addHub, ["--bogus", hubPasswd.path], environment: environment)
        #expect(unknown.status == 2 && !FileManager.default.fileExists(atPath: hubPasswd.path), "\(unknown.stderr)")
        // A file without zephyr (left from before): --admin refuses it too.
        try "rook:$7$stale\n".write(to: hubPasswd, atomically: true, encoding: .utf8)
        let noZephyr = try runProcess(addHub, ["--admin", hubPasswd.path, secrets.path], environment: environment)
        #expect(noZephyr.status == 1 && noZephyr.stderr.contains("holds no user zephyr"), "\(noZephyr.stderr)")
        #expect(try hubUsers() == ["rook"])

        let hub = try runProcess(addHub, [hubPasswd.path, secrets.path], environment: environment)
        #expect(hub.status == 0, "\(hub.stderr)")
        #expect(try hubUsers() == ["zephyr"])
        let password = try secret("zephyr")
        #expect(password.count == 48 && !hub.stdout.contains(password))
        #expect(try mode("zephyr") == 0o600)
        #expect(hub.stdout.contains("add-hub.sh --admin"), "zephyr's output says who forgets: \(hub.stdout)")

        // --admin: zephyr-admin added next to zephyr (no -c), zephyr's password unchanged; its own
        // password 0600, never printed; the forget line to copy.
        let zephyrLine = try String(contentsOf: hubPasswd, encoding: .utf8).split(separator: "\n").first
        let admin = try runProcess(addHub, ["--admin", hubPasswd.path, secrets.path], environment: environment)
        #expect(admin.status == 0, "\(admin.stderr)")
        #expect(try hubUsers() == ["zephyr", "zephyr-admin"])
        #expect(try String(contentsOf: hubPasswd, encoding: .utf8).split(separator: "\n").first == zephyrLine, "zephyr's entry kept")
        let adminPassword = try secret("zephyr-admin")
        #expect(adminPassword.count == 48 && adminPassword != password && !admin.stdout.contains(adminPassword))
        #expect(try mode("zephyr-admin") == 0o600)
        #expect(admin.stdout.contains("MQTT_USERNAME=zephyr-admin"), "\(admin.stdout)")
        #expect(admin.stdout.contains("MQTT_PASSWORD_FILE=\(secrets.path)/zephyr-admin/mqtt-password fleetctl forget NAME"), "\(admin.stdout)")
        #expect(admin.stdout.contains("monitoring host"), "\(admin.stdout)")
        // Again: a new password for zephyr-admin, still one line of it.
        let rotated = try runProcess(addHub, ["--admin", hubPasswd.path, secrets.path], environment: environment)
        #expect(try rotated.status == 0 && hubUsers() == ["zephyr", "zephyr-admin"] && secret("zephyr-admin") != adminPassword)

        // add-hub.sh without --admin writes the file anew, zephyr alone, and says zephyr-admin went.
        let renewed = try runProcess(addHub, [hubPasswd.path, secrets.path], environment: environment)
        #expect(try renewed.status == 0 && hubUsers() == ["zephyr"], "\(renewed.stderr)")
        #expect(renewed.stderr.contains("zephyr-admin was in") && renewed.stderr.contains("--admin again"), "\(renewed.stderr)")
    }
}

/// mosquitto run from the template's mosquitto.conf: every line kept but `listener PORT` (a free
/// port on 127.0.0.1), the /mosquitto/config and /mosquitto/data paths, and `log_dest` (a file);
/// `user root` added. Users: mason and rook made by add-hatchling.sh --tls (password, key and
/// client certificate), zephyr by add-hub.sh and zephyr-admin by add-hub.sh --admin (hub-passwd);
/// the CA by make-ca.sh.
final class TemplateBroker: @unchecked Sendable {
    // @unchecked Sendable: `process` is set by start and cleared by stop, called in sequence.
    let directory: URL
    let hatchlingPort: Int
    let hubPort: Int
    let tlsPort: Int
    /// A handle for TestAgent/TestHub (its port is the plain hatchling listener); never started.
    let hatchlingHandle: TestBroker
    private var process: ChildProcess?

    init() throws {
        directory = try makeTemporaryDirectory(prefix: "template-broker")
        hatchlingPort = try freePort()
        hubPort = try freePort()
        tlsPort = try freePort()
        hatchlingHandle = try TestBroker(port: hatchlingPort)
        let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let scripts = TemplateBrokerTests.mosquittoDirectory
        let certs = directory.appendingPathComponent("certs")
        let made = try runProcess(scripts.appendingPathComponent("make-ca.sh").path, ["-o", certs.path, "localhost", "127.0.0.1"], environment: path)
        guard made.status == 0 else { throw TestError("make-ca.sh: \(made.stderr)") }
        for name in ["mason", "rook"] {
            let added = try runProcess(
                scripts.appendingPathComponent("add-hatchling.sh").path,
                [
                    "--tls", "--ca-dir", certs.path, name, directory.appendingPathComponent("passwd").path,
                    directory.appendingPathComponent("secrets").path,
                ],
                environment: path)
            guard added.status == 0 else { throw TestError("add-hatchling.sh \(name): \(added.stderr)") }
        }
        let hub = try runProcess(
            scripts.appendingPathComponent("add-hub.sh").path, [hubPasswdFile.path, directory.appendingPathComponent("secrets").path],
            environment: path)
        guard hub.status == 0 else { throw TestError("add-hub.sh: \(hub.stderr)") }
        let admin = try runProcess(
            scripts.appendingPathComponent("add-hub.sh").path, ["--admin", hubPasswdFile.path, directory.appendingPathComponent("secrets").path],
            environment: path)
        guard admin.status == 0 else { throw TestError("add-hub.sh --admin: \(admin.stderr)") }
        try FileManager.default.copyItem(
            at: TemplateBrokerTests.mosquittoDirectory.appendingPathComponent("acl"), to: directory.appendingPathComponent("acl"))
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
        try render().write(to: configPath, atomically: true, encoding: .utf8)
    }

    var configPath: URL { directory.appendingPathComponent("mosquitto.conf") }
    var hubPasswdFile: URL { directory.appendingPathComponent("hub-passwd") }
    var hubPasswordFile: URL { passwordFile("zephyr") }
    /// zephyr's password, random, made by add-hub.sh.
    var hubPassword: String { (try? password("zephyr")) ?? "" }
    /// zephyr-admin's (fleetctl forget), made by add-hub.sh --admin.
    var adminPasswordFile: URL { passwordFile("zephyr-admin") }
    var adminPassword: String { (try? password("zephyr-admin")) ?? "" }
    var logURL: URL { directory.appendingPathComponent("broker.log") }

    func passwordFile(_ name: String) -> URL { directory.appendingPathComponent("secrets/\(name)/mqtt-password") }

    func password(_ name: String) throws -> String {
        try String(contentsOf: passwordFile(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func templateText() throws -> String {
        try String(contentsOf: TemplateBrokerTests.mosquittoDirectory.appendingPathComponent("mosquitto.conf"), encoding: .utf8)
    }

    /// The template's directives (comments and blank lines dropped): those before the first
    /// listener, and each listener's, by port.
    static func listenerBlocks() throws -> (global: [String], listeners: [Int: [String]]) {
        var global: [String] = []
        var listeners: [Int: [String]] = [:]
        var current: Int? = nil
        for raw in try templateText().split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let words = line.split(separator: " ")
            if words.first == "listener" {
                guard words.count >= 2, let port = Int(words[1]) else { throw TestError("listener line: \(line)") }
                current = port
                listeners[port] = []
                continue
            }
            // Global settings after the listeners (persistence, logging) count as global.
            if let port = current, !Self.globalKeywords.contains(String(words[0])) {
                listeners[port, default: []].append(line)
            } else {
                current = nil
                global.append(line)
            }
        }
        return (global, listeners)
    }

    static let globalKeywords: Set<String> = [
        "per_listener_settings", "set_tcp_nodelay", "persistence", "persistence_location", "autosave_interval", "max_queued_messages",
        "max_inflight_messages", "persistent_client_expiration", "message_size_limit", "log_dest", "log_type", "connection_messages",
    ]

    func render() throws -> String {
        let ports = [1883: hatchlingPort, 1884: hubPort, 8883: tlsPort]
        var lines: [String] = []
        for raw in try Self.templateText().split(separator: "\n", omittingEmptySubsequences: false) {
            var line = String(raw)
            let words = line.split(separator: " ")
            if words.first == "listener" {
                guard words.count == 2, let port = Int(words[1]), let mapped = ports[port] else {
                    throw TestError("the template has a listener this test does not know: \(line)")
                }
                line = "listener \(mapped) 127.0.0.1"
            } else if line.hasPrefix("log_dest ") {
                line = "log_dest file \(logURL.path)"
            } else if line.hasPrefix("user ") {
                throw TestError("the template sets the broker's user: \(line)")
            }
            line = line.replacingOccurrences(of: "/mosquitto/config/", with: directory.path + "/")
                .replacingOccurrences(of: "/mosquitto/data/", with: directory.appendingPathComponent("data").path + "/")
            lines.append(line)
        }
        return (lines + ["user root", ""]).joined(separator: "\n")
    }

    func start() async throws {
        process = try ChildProcess(
            executable: try which("mosquitto"), arguments: ["-c", configPath.path], environment: [:],
            outputPath: directory.appendingPathComponent("stderr.log").path)
        for port in [hatchlingPort, hubPort, tlsPort] {
            do {
                try await waitForPort(port, deadline: 15)
            } catch {
                let stderr = (try? String(contentsOf: directory.appendingPathComponent("stderr.log"), encoding: .utf8)) ?? ""
                stop()
                throw TestError("\(error): \(stderr)\n\(log())")
            }
        }
    }

    /// SIGTERM by pid, SIGKILL if it lingers (synchronous: used in `defer`).
    func stop() {
        guard let process else { return }
        self.process = nil
        process.signal(SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            process.signal(SIGKILL)
            while process.isRunning { usleep(20_000) }
        }
    }

    func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// SIGHUP by pid (never pidof): mosquitto reads its password files and ACL again.
    func reload() {
        process?.signal(SIGHUP)
    }

    /// mosquitto_pub or mosquitto_sub against one of the listeners, to completion (10 s at most).
    func client(_ program: String, port: Int, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runProcess(
            try which("timeout"), ["10", try which(program), "-h", "127.0.0.1", "-p", String(port), "-V", "mqttv311"] + arguments,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
    }
}
