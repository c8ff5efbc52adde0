import FleetProtocol
import FleetSigning
import Foundation
import HatchlingSystem
import Testing

/// The attacks of the trust-boundaries issue, tried again on the template's own broker
/// (TemplateBroker: template/mosquitto/mosquitto.conf and acl, users made by the template's
/// scripts): mason is the victim, rook a hostile hatchling with its own valid credentials, zephyr
/// the hub on its own listener. The focused tests of each defence are elsewhere (docs/security.md);
/// this one shows they hold with the deployment's real users and permissions.
@Suite("Trust boundaries on the template broker", .serialized)
struct TemplateTrustTests {
    /// ESC [2J and BEL, as JSON escapes (a raw control character is no JSON at all).
    static let escape = #"\u001b[2J\u0007"#

    func signed(_ key: CommandKey, id: String, command: String) -> String {
        signedCommand(key, name: "mason", id: id, command: command)
    }

    @Test(
        "a hostile hatchling's retained telemetry, a command flood, a FIFO as configuration, a reload that drops the key, a slow scraper and a killed supervisor: each is stopped on the template broker"
    )
    func attacks() async throws {
        let broker = try TemplateBroker()
        try await broker.start()
        defer { broker.stop() }
        let secrets = broker.directory.appendingPathComponent("secrets")
        let keyFile = secrets.appendingPathComponent("mason/command-key")
        let key = try #require(CommandKey(try String(contentsOf: keyFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let configDirectory = try makeTemporaryDirectory(prefix: "template-trust")
        let config = configDirectory.appendingPathComponent("agent.env")
        try "HEARTBEAT_INTERVAL=1\nFLEET_COMMAND_KEY_FILE=\(keyFile.path)\n".write(to: config, atomically: true, encoding: .utf8)
        let hub = try await TestHub.connect(
            to: broker.hatchlingHandle, topics: ["fleet/#"], username: "zephyr", password: broker.hubPassword, port: broker.hubPort)
        defer { hub.close() }
        let agent = try TestAgent(
            name: "mason", broker: broker.hatchlingHandle,
            environment: ["MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": broker.passwordFile("mason").path, "HATCHLING_AGENT_CONFIG": config.path])
        try agent.start()
        do {
            let online = try await hub.waitOnline("mason")
            let fleetctl = Fleetctl.environment(
                broker.hatchlingHandle,
                ["MQTT_PORT": String(broker.hubPort), "MQTT_USERNAME": "zephyr", "MQTT_PASSWORD_FILE": broker.hubPasswordFile.path])

            // Item 7: rook publishes hostile retained telemetry on its own topics (the ACL allows
            // that much); the hub's fleetctl neither traps nor passes escape codes to the terminal.
            let rook = try broker.password("rook")
            let now = FleetTimestamp.now().description
            let status =
                #"{"agent_version":"9.9\#(Self.escape)","boot_id":"3f2a9c1e5b7d4a6f8e0c1b2d3a4f5e6d","commands":["health-check"],"heartbeat_interval_s":1000000000,"protocol":1,"state":"online","ts":"\#(now)","v":1}"#
            let beat =
                #"{"agent":{"open_fds":null,"rss_bytes":5242880,"threads":null,"uptime_s":1e300,"version":"9.9\#(Self.escape)"},"boot_id":"3f2a9c1e5b7d4a6f8e0c1b2d3a4f5e6d","container":{"cpu_limit_cores":1e300,"cpu_pct":1e300,"mem_current_bytes":73400320,"mem_limit_bytes":null,"mem_working_set_bytes":52428800,"net_rx_bytes":null,"net_tx_bytes":null,"oom_kills":null,"uptime_s":1e300},"disk":{"free_bytes":53687091200,"path":"/x","total_bytes":107374182400},"gateway":{"http_status":200,"latency_ms":4,"ok":true},"hatchling":"rook","health":"healthy","host":{"cpu_pct":-1e300,"load":[1e300,0.3,0.25],"mem_available_bytes":9663676416,"mem_total_bytes":16707350528,"uptime_s":1e300},"interval_s":1000000000,"seq":812,"ts":"\#(now)","v":1}"#
            for (topic, payload) in [("fleet/rook/status", status), ("fleet/rook/heartbeat", beat)] {
                let published = try broker.client(
                    "mosquitto_pub", port: broker.hatchlingPort, ["-u", "rook", "-P", rook, "-r", "-q", "1", "-t", topic, "-m", payload])
                #expect(published.status == 0, "\(published.stderr)")
            }
            _ = try await hub.waitForMessage("rook's hostile heartbeat") { $0.topic == "fleet/rook/heartbeat" }
            let table = try await Fleetctl.run(["status"], environment: fleetctl)
            #expect(table.status == 0, "fleetctl status survives: \(table.stderr)")
            #expect(table.stdout.contains("rook") && table.stdout.contains("mason"), "\(table.stdout)")
            #expect(!table.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "no control characters reach the terminal")

            // Item 8: a scraper that trickles its request does not hold the exporter (zephyr, 1884).
            let exporterPort = try freePort()
            let exporterLog = configDirectory.appendingPathComponent("exporter.log")
            let exporter = try Fleetctl.start(["exporter", "--listen", "127.0.0.1:\(exporterPort)"], environment: fleetctl, output: exporterLog)
            do {
                try await waitForPort(exporterPort, deadline: 15)
                let slow = try #require(ExporterAbuseTests.open(exporterPort))
                defer { close(slow) }
                var first = Array("GET /metrics HTTP/1.1\r\n".utf8)
                _ = send(slow, &first, first.count, Int32(MSG_NOSIGNAL))
                try await waitForAsync("a scrape while the slow client holds its connection") {
                    (try? httpGet(port: exporterPort, path: "/metrics"))?.body.contains(#"hatchling_up{hatchling="mason"} 1"#) == true
                }
                let metrics = try httpGet(port: exporterPort, path: "/metrics").body
                #expect(metrics.contains(#"agent_version="invalid""#), "rook's version is not a label value as sent")
                #expect(!metrics.unicodeScalars.contains { $0.value == 0x1B })
            } catch {
                print((try? String(contentsOf: exporterLog, encoding: .utf8)) ?? "")
                await exporter.terminate(signal: SIGKILL, grace: 5)
                throw error
            }
            await exporter.terminate(signal: SIGTERM, grace: 10)

            // Items 6 and 9: zephyr floods mason with junk; the log stays short, every refusal is
            // counted, and a signed command right after is answered.
            for _ in 0..<2000 { try hub.publish("fleet/mason/command", "{") }
            // The flood spent the rate limit (10 a second, burst 20) and the cap on error answers:
            // ask again each second until the bucket has refilled.
            var report: CommandResponse? = nil
            var attempts = 0
            for attempt in 1...30 where report == nil {
                attempts = attempt
                try hub.publish("fleet/mason/command", signed(key, id: "after-flood-\(attempt)", command: "status-report"))
                report = try? await hub.waitForResponse(on: "fleet/mason/response", "status after the flood", timeout: 1) {
                    $0.id == "after-flood-\(attempt)" && $0.error == nil
                }
            }
            let answered = try #require(report, "a signed command is answered after the flood")
            guard case .status(let counters) = answered.outcome else { throw TestError("status-report failed: \(answered)") }
            // Each junk command that reached mason is counted: malformed, or rate-limited once the
            // bucket was empty. (The template broker queues at most 1000 messages for a client and
            // drops the rest of a flood, so fewer than 2000 may arrive; the agent's debug log says
            // how many did.)
            let refused = (counters.counters.commands["malformed"] ?? 0) + (counters.counters.commands["rate-limited"] ?? 0)
            let arrived = agent.log().components(separatedBy: "command received command.id=- ").count - 1
            // Signed attempts before the one answered may have been rate-limited too.
            #expect(
                arrived >= 1000 && refused >= arrived && refused <= arrived + attempts - 1,
                "\(arrived) arrived, \(attempts) attempts, counters \(counters.counters.commands)")
            let commandLines = agent.log().split(separator: "\n").filter { $0.contains("command handled") || $0.contains("commands refused") }.count
            #expect(commandLines >= 20 && commandLines <= 100, "\(commandLines) log lines for 2000 refusals")

            // Items 3 and 5: a FIFO at the configuration's path: the reload is refused at once with
            // a public reason, and heartbeats go on.
            try FileManager.default.removeItem(at: config)
            #expect(mkfifo(config.path, 0o600) == 0)
            try hub.publish("fleet/mason/command", signed(key, id: "fifo-reload", command: "config-reload"))
            let fifo = try await hub.waitForResponse(on: "fleet/mason/response", "reload of a FIFO", timeout: 10) { $0.id == "fifo-reload" }
            #expect(fifo.error?.code == .reloadFailed)
            #expect(fifo.error?.message.contains("not a regular file") == true, "\(String(describing: fifo.error))")
            #expect(fifo.error?.message.contains(configDirectory.path) == false, "no path on the bus")
            let beats = hub.messages.filter { $0.topic == "fleet/mason/heartbeat" }.count
            try await waitFor("heartbeats after the refused reload", timeout: 10) {
                hub.messages.filter { $0.topic == "fleet/mason/heartbeat" }.count >= beats + 2
            }

            // Item 4: a reload that would drop the key is refused; unsigned commands still do not run.
            try FileManager.default.removeItem(at: config)
            try "HEARTBEAT_INTERVAL=1\nFLEET_COMMAND_KEY_FILE=\n".write(to: config, atomically: true, encoding: .utf8)
            try hub.publish("fleet/mason/command", signed(key, id: "drop-key", command: "config-reload"))
            let dropped = try await hub.waitForResponse(on: "fleet/mason/response", "reload dropping the key") { $0.id == "drop-key" }
            #expect(dropped.error?.code == .reloadFailed)
            try hub.publish("fleet/mason/command", #"{"command": "status-report", "id": "unsigned"}"#)
            let unsigned = try await hub.waitForResponse(on: "fleet/mason/response", "an unsigned command") { $0.id == "unsigned" }
            #expect(unsigned.error?.code == .unauthorized, "\(unsigned)")

            // Item 2: SIGKILL of the supervisor: the hub sees mason go offline within 10 s.
            let worker = try #require(agent.workerPID())
            await agent.kill9()
            _ = try await hub.waitForMessage("mason offline after its supervisor died", timeout: 10) { message in
                guard message.topic == "fleet/mason/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
                else { return false }
                return status.state == .offline && status.bootId == online.bootId
            }
            try await waitFor("the orphaned worker to end", timeout: 10) { kill(worker, 0) != 0 }
        } catch {
            print(agent.log())
            await agent.stop()
            throw error
        }
        await agent.stop()
    }
}
