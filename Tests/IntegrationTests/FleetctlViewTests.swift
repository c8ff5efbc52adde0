import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// `fleetctl status`, `watch`, `exporter` and `audit` against a real mosquitto and real agents,
/// including a killed agent (offline) and a frozen one (stale).
@Suite("fleetctl views and audit", .serialized)
struct FleetctlViewTests {
    /// An agent in this process (no supervisor), so SIGKILL and SIGSTOP reach the MQTT client itself.
    func bareAgent(_ name: String, _ broker: TestBroker, _ environment: [String: String] = [:]) throws -> TestAgent {
        let agent = try TestAgent(name: name, broker: broker, environment: environment)
        try agent.start(arguments: ["run", "--no-supervisor"])
        return agent
    }

    func hatchlings(_ result: Fleetctl.Result) throws -> [String: [String: Any]] {
        let list = try result.json()["hatchlings"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.map { ($0["name"] as? String ?? "", $0) })
    }

    @Test("status: online with figures; a killed agent offline (lost); a frozen agent stale after 2.5 heartbeat intervals")
    func status() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker) { _ in
                let rook = try bareAgent("rook", broker)
                let finch = try bareAgent("finch", broker, ["HEARTBEAT_INTERVAL": "1"])
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
                defer { hub.close() }
                do {
                    for name in ["mason", "rook", "finch"] { try await hub.waitOnline(name) }
                    await rook.kill9()
                    finch.signal(SIGSTOP)
                    let env = Fleetctl.environment(broker)
                    var last: [String: [String: Any]] = [:]
                    try await waitForAsync("rook offline and finch stale", timeout: 20) {
                        last = try hatchlings(try await Fleetctl.run(["status", "--json"], environment: env))
                        return last["rook"]?["state"] as? String == "offline" && last["finch"]?["state"] as? String == "stale"
                    }
                    #expect(last["rook"]?["reason"] as? String == "lost")
                    #expect(last["finch"]?["health"] == nil, "no figures for a stale hatchling")
                    let mason = try #require(last["mason"])
                    #expect(mason["state"] as? String == "online")
                    #expect((mason["boot_id"] as? String)?.count == 32)
                    #expect(mason["agent_version"] as? String == "1.0.0")
                    #expect((mason["heartbeat_age_s"] as? Double ?? 99) < 30)
                    #expect(mason["health"] as? String == "unhealthy", "the test gateway is down")
                    #expect(mason["gateway_ok"] as? Bool == false)
                    #expect(mason["disk_free_bytes"] != nil)

                    let table = try await Fleetctl.run(["status"], environment: env)
                    #expect(table.status == 0)
                    #expect(table.stdout.contains("offline (lost)") && table.stdout.contains("stale ("), "\(table.stdout)")
                    #expect(table.stdout.contains("3 hatchlings: 1 online, 1 offline, 1 stale"))
                } catch {
                    finch.signal(SIGCONT)
                    await finch.stop()
                    throw error
                }
                finch.signal(SIGCONT)
                await finch.stop()
            }
        }
    }

    @Test("exporter: hatchling_up 1 and figures for a live hatchling; state lost and no frozen figures for a killed one; 404 elsewhere")
    func exporter() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker) { _ in
                let rook = try bareAgent("rook", broker)
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
                defer { hub.close() }
                try await hub.waitOnline("mason")
                try await hub.waitOnline("rook")
                // Its first heartbeat too, so that the hub holds one (the last heartbeat's time).
                _ = try await hub.waitForMessage("rook's heartbeat") { $0.topic == "fleet/rook/heartbeat" && !$0.payload.isEmpty }
                await rook.kill9()
                let port = try freePort()
                let log = try makeTemporaryDirectory(prefix: "exporter").appendingPathComponent("exporter.log")
                let exporter = try Fleetctl.start(
                    ["exporter", "--listen", "127.0.0.1:\(port)"], environment: Fleetctl.environment(broker), output: log)
                do {
                    try await waitForPort(port, deadline: 15)
                    var body = ""
                    try await waitForAsync("rook down and mason up in /metrics") {
                        body = try httpGet(port: port, path: "/metrics").body
                        return body.contains(#"hatchling_up{hatchling="rook"} 0"#) && body.contains(#"hatchling_up{hatchling="mason"} 1"#)
                    }
                    #expect(body.contains("# HELP hatchling_up ") && body.contains("# TYPE hatchling_up gauge"))
                    // Prometheus's own checker reads the scrape: the format and its lint rules.
                    let scraped = log.deletingLastPathComponent().appendingPathComponent("scrape.txt")
                    try body.write(to: scraped, atomically: true, encoding: .utf8)
                    let checked = try runProcess("/bin/sh", ["-c", "promtool check metrics < \"$1\"", "sh", scraped.path])
                    #expect(checked.status == 0 && checked.stdout.isEmpty && checked.stderr.isEmpty, "promtool check metrics: \(checked)")
                    let series = parseExposition(body)
                    let rookFamilies = Set(series.filter { $0.labels.contains(#"hatchling="rook""#) }.map(\.name))
                    #expect(
                        rookFamilies == ["hatchling_up", "hatchling_state", "hatchling_last_heartbeat_timestamp_seconds", "hatchling_info"],
                        "no frozen figures: \(rookFamilies)")
                    #expect(
                        series.contains {
                            $0.name == "hatchling_state" && $0.labels.contains(#"hatchling="rook""#) && $0.labels.contains(#"state="lost""#)
                                && $0.value == 1
                        })
                    #expect(
                        series.contains {
                            $0.name == "hatchling_state" && $0.labels.contains(#"hatchling="mason""#) && $0.labels.contains(#"state="online""#)
                                && $0.value == 1
                        })
                    let masonFamilies = Set(series.filter { $0.labels.contains(#"hatchling="mason""#) }.map(\.name))
                    for family in [
                        "hatchling_last_heartbeat_timestamp_seconds", "hatchling_data_filesystem_avail_bytes", "hatchling_data_filesystem_size_bytes",
                        "hatchling_gateway_up", "hatchling_load1", "hatchling_agent_start_time_seconds", "hatchling_container_start_time_seconds",
                        "hatchling_info",
                    ] {
                        #expect(masonFamilies.contains(family), "\(family) missing: \(body)")
                    }
                    // The working set comes with the usage (both from the agent's memory cgroup, where it has one).
                    if masonFamilies.contains("hatchling_memory_current_bytes") {
                        #expect(masonFamilies.contains("hatchling_memory_working_set_bytes"), "\(body)")
                        let usage = series.first { $0.name == "hatchling_memory_current_bytes" && $0.labels.contains("mason") }?.value ?? 0
                        let workingSet =
                            series.first { $0.name == "hatchling_memory_working_set_bytes" && $0.labels.contains("mason") }?.value ?? .infinity
                        #expect(workingSet <= usage, "working set \(workingSet) over usage \(usage)")
                    }
                    #expect(series.contains { $0.name == "hatchling_gateway_up" && $0.labels.contains("mason") && $0.value == 0 })
                    #expect(series.contains { $0.name == "hatchling_info" && $0.labels.contains(#"agent_version="1.0.0""#) && $0.value == 1 })
                    #expect(try httpGet(port: port, path: "/other").status == 404)
                    #expect(await exporter.terminate(signal: SIGTERM, grace: 10) == 0, "a clean exit on SIGTERM")
                } catch {
                    await exporter.terminate(signal: SIGKILL, grace: 5)
                    throw error
                }
            }
        }
    }

    @Test("exporter: follows a broker restart (broker_connected 0, then 1 again with the hatchling back up)")
    func exporterReconnects() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker, environment: ["MQTT_RECONNECT_MAX": "1"]) { _ in
                let port = try freePort()
                let log = try makeTemporaryDirectory(prefix: "exporter").appendingPathComponent("exporter.log")
                let exporter = try Fleetctl.start(
                    ["exporter", "--listen", "127.0.0.1:\(port)"], environment: Fleetctl.environment(broker), output: log)
                func metrics() -> String { (try? httpGet(port: port, path: "/metrics").body) ?? "" }
                do {
                    try await waitForPort(port, deadline: 15)
                    try await waitFor("mason up") { metrics().contains(#"hatchling_up{hatchling="mason"} 1"#) }
                    await broker.stop()
                    try await waitFor("the broker seen gone") { metrics().contains("fleetctl_broker_connected 0") }
                    try await broker.start()
                    try await waitFor("reconnected, mason up again", timeout: 30) {
                        let text = metrics()
                        return text.contains("fleetctl_broker_connected 1") && text.contains(#"hatchling_up{hatchling="mason"} 1"#)
                    }
                    #expect(await exporter.terminate(signal: SIGINT, grace: 10) == 0)
                    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                    #expect(text.contains("not connected") && text.components(separatedBy: "connected to").count >= 3, "\(text)")
                } catch {
                    await exporter.terminate(signal: SIGKILL, grace: 5)
                    throw error
                }
            }
        }
    }

    @Test("audit: an off-contract topic, a secret and a status under another's name are flagged; the agent's own traffic is ok")
    func audit() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker) { _ in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
                defer { hub.close() }
                try await hub.waitOnline("mason")
                let directory = try makeTemporaryDirectory(prefix: "audit")
                let file = directory.appendingPathComponent("audit.jsonl")
                let log = directory.appendingPathComponent("audit.log")
                let env = Fleetctl.environment(broker)
                let audit = try Fleetctl.start(["audit", "--output", file.path], environment: env, output: log)
                func lines() -> [[String: Any]] {
                    let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                    return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                }
                do {
                    try await waitFor("the audit to subscribe") { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("recording") }
                    try hub.publish("fleet/x/extra", "hello")
                    try hub.publish("fleet/mason/response", #"{"v":1,"note":"sk-ant-api03-SECRETSECRETSECRET000111"}"#)
                    try hub.publish(
                        "fleet/rook/status", #"{"v":1,"state":"online","boot_id":"0123456789abcdef0123456789abcdef","hatchling":"mason"}"#)
                    let sent = try await Fleetctl.run(["send", "mason", "health-check"], environment: env)
                    #expect(sent.status == 0)
                    try await waitFor("the agent's answer in the audit") {
                        lines().contains { $0["kind"] as? String == "response" && ($0["size"] as? Int ?? 0) > 200 }
                    }
                    #expect(await audit.terminate(signal: SIGINT, grace: 10) == 1, "exit 1: something was flagged")
                } catch {
                    await audit.terminate(signal: SIGKILL, grace: 5)
                    throw error
                }
                let records = lines()
                func codes(_ topic: String) -> [String] {
                    records.filter { $0["topic"] as? String == topic }.flatMap {
                        ($0["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
                    }
                }
                #expect(codes("fleet/x/extra").contains("off-contract-topic"))
                #expect(codes("fleet/rook/status").contains("impersonation"))
                let response = records.filter { $0["topic"] as? String == "fleet/mason/response" }
                #expect(response.contains { ($0["findings"] as? [[String: Any]] ?? []).contains { $0["code"] as? String == "secret" } })
                #expect(response.contains { $0["verdict"] as? String == "ok" }, "the agent's real answer is ok")
                let own = records.filter {
                    ["fleet/mason/status", "fleet/mason/heartbeat", "fleet/mason/command"].contains($0["topic"] as? String ?? "")
                }
                #expect(!own.isEmpty && own.allSatisfy { $0["verdict"] as? String == "ok" }, "\(own)")
                #expect(records.allSatisfy { ($0["sha256"] as? String)?.count == 64 })
                let raw = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                #expect(!raw.contains("SECRETSECRET"), "the audit log holds digests, never payloads")
                let summary = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
                #expect(summary.contains("flagged") && summary.contains("off-contract-topic"), "\(summary)")
            }
        }
    }

    @Test("watch: shows the fleet, then exits 0 on SIGINT; no escape codes with TERM=dumb")
    func watch() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker) { _ in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
                defer { hub.close() }
                try await hub.waitOnline("mason")
                let output = try makeTemporaryDirectory(prefix: "watch").appendingPathComponent("watch.out")
                let watch = try Fleetctl.start(["watch"], environment: Fleetctl.environment(broker, ["TERM": "dumb"]), output: output)
                func text() -> String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }
                do {
                    try await waitFor("mason in the watch output") { text().contains("mason") && text().contains("1 online") }
                    watch.signal(SIGINT)
                    #expect(await watch.waitForExit(seconds: 10) == 0, "\(text())")
                    #expect(!text().contains("\u{1B}["), "no ANSI codes for TERM=dumb")
                } catch {
                    await watch.terminate(signal: SIGKILL, grace: 5)
                    throw error
                }
            }
        }
    }
}

/// Polls an async condition (a command to run again) until it holds, with a deadline.
func waitForAsync(_ what: String, timeout: Double = 20, _ condition: () async throws -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while try await !condition() {
        guard Date() < deadline else { throw TestError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(200))
    }
}
