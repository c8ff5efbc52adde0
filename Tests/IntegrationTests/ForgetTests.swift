import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// Retiring a hatchling on the template's own broker (TemplateBroker: template/mosquitto's
/// mosquitto.conf and ACL, users made by its scripts): `fleetctl forget` as zephyr-admin on the hub
/// listener (zephyr, the everyday hub user, may not), and `template/mosquitto/remove-hatchling.sh`.
@Suite("fleetctl forget and remove-hatchling.sh on the template broker", .serialized)
struct ForgetTests {
    /// zephyr-admin's write lines in the template ACL; zephyr has none of them.
    static let grants = ["topic write fleet/+/status", "topic write fleet/+/heartbeat"]

    /// fleetctl as the hub's admin user, zephyr-admin, on the hub listener: how forget is run.
    func environment(_ broker: TemplateBroker) -> [String: String] {
        Fleetctl.environment(
            broker.hatchlingHandle,
            ["MQTT_PORT": String(broker.hubPort), "MQTT_USERNAME": "zephyr-admin", "MQTT_PASSWORD_FILE": broker.adminPasswordFile.path])
    }

    /// fleetctl as zephyr, the everyday hub user (send, status, the exporter).
    func zephyrEnvironment(_ broker: TemplateBroker) -> [String: String] {
        Fleetctl.environment(
            broker.hatchlingHandle,
            ["MQTT_PORT": String(broker.hubPort), "MQTT_USERNAME": "zephyr", "MQTT_PASSWORD_FILE": broker.hubPasswordFile.path])
    }

    /// mosquitto_pub or mosquitto_sub (MQTT 3.1.1) against a listener, to completion (10 s at most),
    /// on a thread of its own.
    func tool(_ program: String, port: Int, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runProcessOffPool(
            try which("timeout"), ["10", try which(program), "-h", "127.0.0.1", "-p", String(port), "-V", "mqttv311"] + arguments,
            environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
    }

    /// The topic of the first retained message a fresh mosquitto_sub (as zephyr) gets on `topics`
    /// followed by `marker`, a topic known to hold one. mosquitto sends the retained messages of a
    /// SUBSCRIBE in the order of its filters, so the marker first means none of `topics` holds one.
    func firstRetained(_ broker: TemplateBroker, _ topics: [String], marker: String) async throws -> String {
        let result = try await tool(
            "mosquitto_sub", port: broker.hubPort,
            ["-u", "zephyr", "-P", broker.hubPassword, "--retained-only", "-C", "1", "-v"] + (topics + [marker]).flatMap { ["-t", $0] })
        guard result.status == 0, let topic = result.stdout.split(separator: " ").first else {
            throw TestError("mosquitto_sub: \(result.status) \(result.stdout) \(result.stderr)")
        }
        return String(topic)
    }

    /// The retained message a fresh subscription (zephyr, MQTT 5) gets on `topic`; it must be there.
    func retained(_ broker: TemplateBroker, _ topic: String) async throws -> MQTTMessage {
        let probe = try await TestHub.connect(
            to: broker.hatchlingHandle, topics: [topic], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
        defer { probe.close() }
        return try await probe.waitForMessage("the retained message of \(topic)") { $0.retain && $0.topic == topic }
    }

    func retainedStatus(_ broker: TemplateBroker, _ name: String) async throws -> StatusPayload {
        try FleetJSON.decode(StatusPayload.self, from: try await retained(broker, "fleet/\(name)/status").payload)
    }

    /// The hatchlings of a forget --json report.
    func outcomes(_ result: Fleetctl.Result) throws -> [[String: Any]] {
        try result.json()["hatchlings"] as? [[String: Any]] ?? []
    }

    func agent(_ name: String, _ broker: TemplateBroker) throws -> TestAgent {
        try TestAgent(
            name: name, broker: broker.hatchlingHandle,
            environment: ["MQTT_USERNAME": name, "MQTT_PASSWORD_FILE": broker.passwordFile(name).path])
    }

    /// Stops the agent with SIGTERM and waits for the hub to see its `offline`/`shutdown`.
    func stopCleanly(_ agent: TestAgent, hub: TestHub, boot: String) async throws {
        #expect(await agent.stop() == 0, "the agent exits 0 on SIGTERM")
        _ = try await hub.waitForMessage("\(agent.name) offline (shutdown)") { message in
            guard message.topic == "fleet/\(agent.name)/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
            else { return false }
            return status.state == .offline && status.reason == .shutdown && status.bootId == boot
        }
    }

    @Test(
        "retiring mason: a hatchling cannot clear another's status; forget refuses it online and refuses an unknown name (nothing cleared); stopped, removed (remove-hatchling.sh, reload: its password no longer works) and forgotten as zephyr-admin, no retained status or heartbeat is left and status no longer lists it; --force on rook, online, is forgotten-while-online"
    )
    func retire() async throws {
        let broker = try TemplateBroker()
        try await broker.start()
        defer { broker.stop() }
        let env = environment(broker)
        let hub = try await TestHub.connect(
            to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
        defer { hub.close() }
        let mason = try agent("mason", broker)
        let rook = try agent("rook", broker)
        try mason.start()
        do {
            let online = try await hub.waitOnline("mason")
            let beat = try await hub.waitForMessage("mason's heartbeat") { $0.topic == "fleet/mason/heartbeat" }

            // rook's credentials (its agent not started yet: the template binds the client id to
            // the user, so a client as rook would push its agent off) cannot clear mason's status
            // or heartbeat: MQTT 3.1.1 acknowledges the denied clear as if it passed, MQTT 5 says
            // not authorised, and a fresh subscription still gets both.
            let rookPassword = try broker.password("rook")
            for topic in ["fleet/mason/status", "fleet/mason/heartbeat"] {
                let cleared = try await tool(
                    "mosquitto_pub", port: broker.hatchlingPort, ["-u", "rook", "-P", rookPassword, "-r", "-n", "-q", "1", "-t", topic])
                #expect(cleared.status == 0, "acknowledged as if it passed: \(cleared.stderr)")
            }
            let hostile = try await TestHub.connect(
                to: broker.hatchlingHandle, topics: ["fleet/rook/command"], protocolVersion: .v5, username: "rook", password: rookPassword)
            let mid = try hostile.client.publish(topic: "fleet/mason/status", payload: [], qos: 1, retain: true)
            #expect(try await hostile.waitForAck(mid) == .notAuthorized)
            hostile.close()
            #expect(try await retainedStatus(broker, "mason") == online, "mason's status survives rook")
            #expect(try await retained(broker, "fleet/mason/heartbeat").payload == beat.payload, "and its heartbeat")

            try rook.start()
            do {
                try await hub.waitOnline("rook")

                // Online: refused with exit 1, nothing cleared.
                let refused = try await Fleetctl.run(["forget", "mason", "--json"], environment: env)
                #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
                #expect(try outcomes(refused).first?["result"] as? String == "refused-online")
                #expect(try outcomes(refused).first?["state"] as? String == "online")
                let refusedText = try await Fleetctl.run(["forget", "mason"], environment: env)
                #expect(refusedText.status == 1)
                #expect(
                    refusedText.stdout.contains("refused: online now") && refusedText.stdout.contains("Stop the container first"),
                    "\(refusedText.stdout)")
                #expect(try await retainedStatus(broker, "mason") == online, "nothing was cleared")

                // Stopped: offline (shutdown), heartbeat still retained; status shows it.
                try await stopCleanly(mason, hub: hub, boot: online.bootId)
                #expect(try await retained(broker, "fleet/mason/heartbeat").payload == beat.payload)
                let listed = try await Fleetctl.run(["status", "--json"], environment: env)
                let rows = try listed.json()["hatchlings"] as? [[String: Any]] ?? []
                #expect(
                    rows.contains { $0["name"] as? String == "mason" && $0["state"] as? String == "offline" && $0["reason"] as? String == "shutdown" }
                )

                // An unknown name beside it: all or nothing, exit 1, mason kept.
                let unknown = try await Fleetctl.run(["forget", "mason", "ghost", "--json"], environment: env)
                #expect(unknown.status == 1, "\(unknown.stdout)\(unknown.stderr)")
                #expect(try outcomes(unknown).map { $0["result"] as? String } == ["not-attempted", "refused-unknown"])
                #expect(try await retainedStatus(broker, "mason").reason == .shutdown, "nothing was cleared")
                // Not a hatchling name: a usage error.
                let usage = try await Fleetctl.run(["forget", "fleet/+"], environment: env)
                #expect(usage.status == 2 && usage.stdout.isEmpty, "\(usage.stderr)")

                // remove-hatchling.sh and a reload (SIGHUP by pid): mason's password stops working.
                let masonPassword = try broker.password("mason")
                let removed = try await runProcessOffPool(
                    TemplateBrokerTests.mosquittoDirectory.appendingPathComponent("remove-hatchling.sh").path,
                    ["mason", broker.directory.appendingPathComponent("passwd").path, broker.directory.appendingPathComponent("secrets").path],
                    environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
                #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
                broker.reload()
                try await waitForAsync("mason's password refused after the reload", timeout: 20) {
                    let attempt = try? await tool(
                        "mosquitto_pub", port: broker.hatchlingPort, ["-u", "mason", "-P", masonPassword, "-n", "-q", "1", "-t", "fleet/mason/event"])
                    return attempt.map { $0.status != 0 && $0.stderr.contains("not authorised") } ?? false
                }

                // Forgotten as zephyr-admin: both cleared, checked by fleetctl itself and by fresh subscribers.
                let forgotten = try await Fleetctl.run(["forget", "mason", "--json"], environment: env)
                #expect(forgotten.status == 0, "\(forgotten.stdout)\(forgotten.stderr)")
                let outcome = try #require(try outcomes(forgotten).first)
                #expect(
                    outcome["result"] as? String == "forgotten" && outcome["state"] as? String == "offline"
                        && outcome["reason"] as? String == "shutdown")
                #expect(outcome["remaining"] as? [String] == [])
                for leaf in ["status", "heartbeat"] {
                    _ = try await hub.waitForMessage("the clear of mason's \(leaf) (an empty message)") {
                        $0.topic == "fleet/mason/\(leaf)" && $0.payload.isEmpty
                    }
                }
                #expect(
                    try await firstRetained(broker, ["fleet/mason/status", "fleet/mason/heartbeat"], marker: "fleet/rook/status")
                        == "fleet/rook/status")
                let after = try await Fleetctl.run(["status"], environment: zephyrEnvironment(broker))
                #expect(after.status == 0 && !after.stdout.contains("mason") && after.stdout.contains("rook"), "\(after.stdout)")

                // Again: nothing is retained for it; refused (a typo looks the same), accepted with --force.
                let again = try await Fleetctl.run(["forget", "mason"], environment: env)
                #expect(again.status == 1 && again.stdout.contains("refused: nothing is retained"), "\(again.stdout)")
                let forced = try await Fleetctl.run(["forget", "--force", "mason"], environment: env)
                #expect(forced.status == 0 && forced.stdout.contains("1 nothing-retained"), "\(forced.stdout)\(forced.stderr)")
                #expect(try await retainedStatus(broker, "rook").state == .online, "rook untouched")

                // --force on rook, online and running: cleared, and said to come back at its next
                // connect (its heartbeat interval is 30 s, so none comes during the check).
                let whileOnline = try await Fleetctl.run(["forget", "--force", "rook", "--json"], environment: env)
                #expect(whileOnline.status == 0, "\(whileOnline.stdout)\(whileOnline.stderr)")
                let rookOutcome = try #require(try outcomes(whileOnline).first)
                #expect(
                    rookOutcome["result"] as? String == "forgotten-while-online" && rookOutcome["state"] as? String == "online",
                    "\(whileOnline.stdout)")
                #expect((rookOutcome["detail"] as? String ?? "").contains("next connect"))
                let rookNote = try whileOnline.json()["note"] as? String ?? ""
                #expect(rookNote.contains("send --all skips it"), "\(rookNote)")
            } catch {
                print("rook's log:\n\(rook.log())")
                await rook.stop()
                throw error
            }
            await rook.stop()
        } catch {
            print("mason's log:\n\(mason.log())\nbroker log:\n\(broker.log())")
            await mason.stop()
            throw error
        }
        await mason.stop()
    }

    @Test(
        "zephyr, the everyday hub user, cannot forget: its empty or forged status gets PUBACK 135 and changes nothing; forget as zephyr is kept, exit 3, under MQTT 3.1.1 (silent denial, found by the check) and 5 (135), the note naming zephyr-admin; zephyr-admin writes no command, broadcast, response or event and reads no command; forget as zephyr-admin works"
    )
    func zephyrCannotForget() async throws {
        let broker = try TemplateBroker()
        let acl = try String(contentsOf: broker.directory.appendingPathComponent("acl"), encoding: .utf8)
        let blocks = acl.components(separatedBy: "\nuser ")
        let zephyrBlock = try #require(blocks.first { $0.hasPrefix("zephyr\n") })
        let adminBlock = try #require(blocks.first { $0.hasPrefix("zephyr-admin\n") })
        for grant in Self.grants {
            #expect(!zephyrBlock.contains(grant), "zephyr must not have `\(grant)`")
            #expect(adminBlock.contains(grant), "zephyr-admin has `\(grant)`")
        }
        try await broker.start()
        defer { broker.stop() }
        let hub = try await TestHub.connect(
            to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
        defer { hub.close() }
        let mason = try agent("mason", broker)
        try mason.start()
        do {
            let online = try await hub.waitOnline("mason")
            let beat = try await hub.waitForMessage("mason's heartbeat") { $0.topic == "fleet/mason/heartbeat" }
            try await stopCleanly(mason, hub: hub, boot: online.bootId)
            let offline = try await retainedStatus(broker, "mason")

            // zephyr with its own password (MQTT 5): no status, heartbeat, nor a forged online.
            let zephyr = try await TestHub.connect(
                to: broker.hatchlingHandle, topics: ["fleet/ghost/command"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
            defer { zephyr.close() }
            let forged =
                #"{"v":1,"state":"online","boot_id":"0123456789abcdef0123456789abcdef","ts":"2026-01-01T00:00:00Z","heartbeat_interval_s":86400}"#
            // fleet/zephyr/...: the hatchlings' `pattern` lines apply to the hub's user too, but a
            // `topic deny` keeps it from publishing a phantom hatchling named after itself.
            for (topic, payload) in [
                ("fleet/mason/status", ""), ("fleet/mason/heartbeat", ""), ("fleet/mason/status", forged), ("fleet/ghost/status", forged),
                ("fleet/zephyr/status", forged), ("fleet/zephyr/heartbeat", forged),
            ] {
                let mid = try zephyr.client.publish(topic: topic, payload: Array(payload.utf8), qos: 1, retain: true)
                #expect(try await zephyr.waitForAck(mid) == .notAuthorized, "zephyr wrote \(topic)")
            }
            #expect(try await retainedStatus(broker, "mason") == offline, "mason's status survives zephyr")
            #expect(try await retained(broker, "fleet/mason/heartbeat").payload == beat.payload, "and its heartbeat")
            #expect(!hub.messages.contains { $0.topic == "fleet/ghost/status" }, "the forged status reached no one")

            // forget as zephyr: kept, exit 3, the fix named: zephyr-admin and its password file.
            let zephyrEnv = zephyrEnvironment(broker)
            let silent = try await Fleetctl.run(["forget", "mason", "--protocol", "3.1.1", "--json", "--timeout", "2"], environment: zephyrEnv)
            #expect(silent.status == 3, "\(silent.stdout)\(silent.stderr)")
            let outcome = try #require(try outcomes(silent).first)
            #expect(outcome["result"] as? String == "kept")
            #expect(outcome["remaining"] as? [String] == ["fleet/mason/status", "fleet/mason/heartbeat"])
            let note = try silent.json()["note"] as? String ?? ""
            #expect(note.contains("acknowledged the clear but kept") && note.contains("'zephyr'"), "\(note)")
            #expect(note.contains("MQTT_USERNAME=zephyr-admin") && note.contains("zephyr-admin/mqtt-password"), "\(note)")
            let refused = try await Fleetctl.run(["forget", "mason"], environment: zephyrEnv)
            #expect(refused.status == 3, "\(refused.stdout)\(refused.stderr)")
            #expect(
                refused.stdout.contains("refused the clear: Not authorized (reason code 135)") && refused.stdout.contains("1 kept"),
                "\(refused.stdout)")
            #expect(refused.stdout.contains("MQTT_USERNAME=zephyr-admin"), "\(refused.stdout)")
            #expect(try await retainedStatus(broker, "mason") == offline, "the broker still holds mason's status")

            // zephyr-admin: statuses and heartbeats only. No command, broadcast, response or event
            // (PUBACK 135), and a command never reaches it (mosquitto filters reads on delivery:
            // a marker on a status it may write, sent after, arrives and the command does not).
            let admin = try await TestHub.connect(
                to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr-admin", password: broker.adminPassword,
                port: broker.hubPort)
            defer { admin.close() }
            for topic in [
                "fleet/mason/command", "fleet/ghost/command", "zephyr/broadcast", "fleet/mason/response", "fleet/mason/event", "fleet/ghost/event",
                "fleet/zephyr-admin/status", "fleet/zephyr-admin/heartbeat",
            ] {
                #expect(
                    try await admin.publishAndWaitForAck(topic, #"{"command":"health-check","id":"admin-1"}"#) == .notAuthorized,
                    "zephyr-admin wrote \(topic)")
            }
            #expect(try await zephyr.publishAndWaitForAck("fleet/ghost/command", #"{"command":"health-check","id":"zephyr-1"}"#) == .success)
            // The marker is retained: firstRetained below needs a topic known to hold one.
            let markerID = try admin.client.publish(topic: "fleet/ghost/status", payload: Array("marker".utf8), qos: 1, retain: true)
            #expect(try await admin.waitForAck(markerID) == .success)
            _ = try await admin.waitForMessage("its own marker") { $0.topic == "fleet/ghost/status" && $0.payload == Array("marker".utf8) }
            #expect(!admin.messages.contains { $0.topic.hasSuffix("/command") }, "zephyr-admin read a command")
            #expect(!hub.messages.contains { $0.topic == "fleet/mason/event" || $0.topic == "fleet/mason/response" }, "nothing it tried got through")

            // forget as zephyr-admin: cleared.
            let forgotten = try await Fleetctl.run(["forget", "mason", "--json"], environment: environment(broker))
            #expect(forgotten.status == 0, "\(forgotten.stdout)\(forgotten.stderr)")
            #expect(try outcomes(forgotten).first?["result"] as? String == "forgotten", "\(forgotten.stdout)")
            #expect(
                try await firstRetained(broker, ["fleet/mason/status", "fleet/mason/heartbeat"], marker: "fleet/ghost/status") == "fleet/ghost/status"
            )
        } catch {
            print("mason's log:\n\(mason.log())\nbroker log:\n\(broker.log())")
            await mason.stop()
            throw error
        }
    }

    @Test(
        "an ACL without zephyr-admin's grant (a broker set up before it): forget as zephyr-admin reports the status and heartbeat kept, exit 3, and names the lines to add under `user zephyr-admin`; nothing is cleared"
    )
    func adminWithoutGrant() async throws {
        let broker = try TemplateBroker()
        let acl = broker.directory.appendingPathComponent("acl")
        let lines = try String(contentsOf: acl, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for grant in Self.grants { #expect(lines.contains(grant), "the template ACL grants `\(grant)`") }
        try lines.filter { !Self.grants.contains($0) }.joined(separator: "\n").write(to: acl, atomically: true, encoding: .utf8)
        try await broker.start()
        defer { broker.stop() }
        let env = environment(broker)
        let hub = try await TestHub.connect(
            to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
        defer { hub.close() }
        let mason = try agent("mason", broker)
        try mason.start()
        do {
            let online = try await hub.waitOnline("mason")
            _ = try await hub.waitForMessage("mason's heartbeat") { $0.topic == "fleet/mason/heartbeat" }
            try await stopCleanly(mason, hub: hub, boot: online.bootId)

            let silent = try await Fleetctl.run(["forget", "mason", "--protocol", "3.1.1", "--json", "--timeout", "2"], environment: env)
            #expect(silent.status == 3, "\(silent.stdout)\(silent.stderr)")
            #expect(try outcomes(silent).first?["result"] as? String == "kept")
            let note = try silent.json()["note"] as? String ?? ""
            #expect(
                note.contains("does not let zephyr-admin write") && note.contains("topic write fleet/+/status")
                    && note.contains("under `user zephyr-admin`"), "\(note)")

            let refused = try await Fleetctl.run(["forget", "mason"], environment: env)
            #expect(
                refused.status == 3 && refused.stdout.contains("refused the clear: Not authorized (reason code 135)"),
                "\(refused.stdout)\(refused.stderr)")
            #expect(try await retainedStatus(broker, "mason").reason == .shutdown, "the broker still holds mason's status")
        } catch {
            print("mason's log:\n\(mason.log())")
            await mason.stop()
            throw error
        }
    }

    /// The stand-in 3.1.1 broker (Fixtures/mqtt311_only_broker.py) in one of its retained modes:
    /// it holds fleet/mason/status (offline) and fails the clear as `mode` says.
    func withStandIn(_ mode: String, _ body: (_ environment: [String: String], _ events: URL) async throws -> Void) async throws {
        let port = try freePort()
        let directory = try makeTemporaryDirectory(prefix: "forget-stand-in")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mqtt311_only_broker.py")
        let events = directory.appendingPathComponent("events.log")
        let fake = try ChildProcess(
            executable: try which("python3"), arguments: [script.path, String(port), events.path, mode],
            environment: ["PATH": "/usr/bin:/bin"], outputPath: directory.appendingPathComponent("fake.log").path)
        defer { fake.signal(SIGKILL) }
        try await waitForPort(port, deadline: 15)
        let environment = [
            "MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port), "MQTT_USERNAME": "zephyr-admin", "MQTT_PROTOCOL": "3.1.1",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
        try await body(environment, events)
        await fake.terminate(signal: SIGTERM, grace: 5)
    }

    @Test(
        "a clear that fails for another reason than the ACL is reported as what it is: no PUBACK in time is `failed`, exit 3, the error named and no ACL advice; a connection lost once at the clear is tried again on a new one and forgets; closed again on the new one it is the broker's refusal (RabbitMQ's way): kept"
    )
    func clearFailures() async throws {
        try await withStandIn("no-puback") { environment, _ in
            let stalled = try await Fleetctl.run(["forget", "mason", "--json"], environment: environment)
            #expect(stalled.status == 3, "\(stalled.stdout)\(stalled.stderr)")
            let outcome = try #require(try outcomes(stalled).first)
            #expect(outcome["result"] as? String == "failed", "\(stalled.stdout)")
            #expect((outcome["detail"] as? String ?? "").contains("did not acknowledge the publish to fleet/mason/status"), "\(stalled.stdout)")
            let note = try stalled.json()["note"] as? String ?? ""
            #expect(note.contains("did not go through") && !note.contains("ACL does not let") && !note.contains("MQTT_USERNAME"), "\(note)")
        }
        try await withStandIn("drop-publish-once") { environment, events in
            let lost = try await Fleetctl.run(["forget", "mason", "--json"], environment: environment)
            #expect(lost.status == 0, "\(lost.stdout)\(lost.stderr)")
            #expect(try outcomes(lost).first?["result"] as? String == "forgotten", "\(lost.stdout)")
            let log = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
            #expect(
                log.contains("dropped at PUBLISH fleet/mason/status")
                    && log.components(separatedBy: "PUBLISH fleet/mason/status (0 bytes)").count - 1 == 2, "\(log)")
        }
        try await withStandIn("drop-publish") { environment, _ in
            let denied = try await Fleetctl.run(["forget", "mason", "--json", "--timeout", "1"], environment: environment)
            #expect(denied.status == 3, "\(denied.stdout)\(denied.stderr)")
            #expect(try outcomes(denied).first?["result"] as? String == "kept", "\(denied.stdout)")
            let note = try denied.json()["note"] as? String ?? ""
            #expect(note.contains("again on a new connection") && note.contains("does not let zephyr-admin write"), "\(note)")
        }
    }

    @Test(
        "remove-hatchling.sh (mosquitto; the RabbitMQ one's refusals too): the user leaves a mosquitto_passwd file, the hatchling's secrets folder and key copy go, nothing else; bad names, zephyr and keys are refused; it says how to reload without pidof and to run fleetctl forget"
    )
    func removeScript() async throws {
        let directory = try makeTemporaryDirectory(prefix: "remove-hatchling")
        let passwd = directory.appendingPathComponent("passwd")
        let secrets = directory.appendingPathComponent("secrets")
        let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        let scripts = TemplateBrokerTests.mosquittoDirectory
        for name in ["mason", "rook"] {
            let added = try await runProcessOffPool(
                scripts.appendingPathComponent("add-hatchling.sh").path, [name, passwd.path, secrets.path], environment: path)
            #expect(added.status == 0, "\(added.stderr)")
        }
        let hub = try await runProcessOffPool(
            scripts.appendingPathComponent("add-hub.sh").path, [directory.appendingPathComponent("hub-passwd").path, secrets.path], environment: path)
        #expect(hub.status == 0, "\(hub.stderr)")
        func users() -> [String] {
            ((try? String(contentsOf: passwd, encoding: .utf8)) ?? "").split(separator: "\n").map { String($0.prefix { $0 != ":" }) }
        }
        func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: secrets.appendingPathComponent(relative).path) }
        let everything = [
            "mason/mqtt-password", "mason/command-key", "keys/mason.key", "rook/mqtt-password", "keys/rook.key", "zephyr/mqtt-password",
        ]
        #expect(users() == ["mason", "rook"])
        #expect(everything.allSatisfy(exists))

        let script = scripts.appendingPathComponent("remove-hatchling.sh").path
        let rabbitScript = DeploymentTests.template.appendingPathComponent("rabbitmq/remove-hatchling.sh").path
        // /bin/false as rabbitmqctl: a refusal must come before any rabbitmqctl call.
        let rabbitEnvironment = path.merging(["RABBITMQCTL": "/bin/false"]) { $1 }
        for bad in [
            "", "..", "../rook", "rook/..", "/", "a/b", ".hidden", "*", "-rf", "mason\n", "mason ", String(repeating: "m", count: 65), "zephyr",
            "zephyr-admin", "keys",
        ] {
            let result = try await runProcessOffPool(script, [bad, passwd.path, secrets.path], environment: path)
            #expect(result.status == 2, "'\(bad)': \(result.status) \(result.stdout)\(result.stderr)")
            let rabbit = try await runProcessOffPool(rabbitScript, [bad, secrets.path], environment: rabbitEnvironment)
            #expect(rabbit.status == 2, "RabbitMQ '\(bad)': \(rabbit.status) \(rabbit.stdout)\(rabbit.stderr)")
        }
        let zephyr = try await runProcessOffPool(script, ["zephyr", passwd.path, secrets.path], environment: path)
        #expect(zephyr.stderr.contains("the hub's user"), "\(zephyr.stderr)")
        #expect(users() == ["mason", "rook"] && everything.allSatisfy(exists), "nothing was removed by a refused name")

        let missing = try await runProcessOffPool(script, ["mason", directory.appendingPathComponent("nope").path, secrets.path], environment: path)
        #expect(missing.status == 1 && missing.stderr.contains("no password file"), "\(missing.stderr)")
        #expect(exists("mason/mqtt-password"), "a wrong PASSWD_FILE removes nothing")

        let removed = try await runProcessOffPool(script, ["mason", passwd.path, secrets.path], environment: path)
        #expect(removed.status == 0, "\(removed.stdout)\(removed.stderr)")
        #expect(users() == ["rook"])
        #expect(!exists("mason") && !exists("keys/mason.key"))
        #expect(["rook/mqtt-password", "keys/rook.key", "zephyr/mqtt-password"].allSatisfy(exists), "only mason's secrets went")
        #expect(try FileManager.default.attributesOfItem(atPath: passwd.path)[.posixPermissions] as? Int == 0o600)
        #expect(removed.stdout.contains("docker compose kill -s HUP mosquitto") && removed.stdout.contains("fleetctl forget mason"))
        #expect(removed.stdout.contains("never pidof") && !removed.stdout.contains("$(pidof"), "no pidof to copy")
        #expect(removed.stdout.contains("8883"), "a TLS certificate outlives the user: said")

        let again = try await runProcessOffPool(script, ["mason", passwd.path, secrets.path], environment: path)
        #expect(again.status == 0 && again.stdout.contains("no user 'mason'"), "\(again.stdout)\(again.stderr)")
        #expect(users() == ["rook"])
    }
}
