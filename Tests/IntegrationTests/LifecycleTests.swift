import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

@Suite("Agent lifecycle over a real broker", .serialized)
struct LifecycleTests {
    @Test("a late subscriber sees the retained online status and heartbeat")
    func retainedStatusAndHeartbeat() async throws {
        try await withBroker { broker in
            try await withAgent("lark", broker: broker, environment: ["HEARTBEAT_INTERVAL": "1"]) { agent in
                // Wait for the agent to be online without subscribing to its topics first.
                let watcher = try await TestHub.connect(to: broker, topics: ["fleet/lark/heartbeat"])
                let first = try await watcher.waitForMessage("first heartbeat") { $0.topic == "fleet/lark/heartbeat" }
                let firstBeat = try FleetJSON.decode(Heartbeat.self, from: first.payload)
                _ = try await watcher.waitForMessage("a later heartbeat") { message in
                    (try? FleetJSON.decode(Heartbeat.self, from: message.payload)).map { $0.seq > firstBeat.seq } == true
                }
                watcher.close()

                let late = try await TestHub.connect(to: broker, topics: ["fleet/lark/status", "fleet/lark/heartbeat"])
                defer { late.close() }
                let status = try await late.waitForMessage("retained status") { $0.topic == "fleet/lark/status" }
                #expect(status.retain)
                let online = try FleetJSON.decode(StatusPayload.self, from: status.payload)
                #expect(online.state == .online)
                #expect(online.commands == FleetCommand.allCases)
                #expect(online.heartbeatIntervalS == 1)
                let beat = try await late.waitForMessage("retained heartbeat") { $0.topic == "fleet/lark/heartbeat" && $0.retain }
                let heartbeat = try FleetJSON.decode(Heartbeat.self, from: beat.payload)
                #expect(heartbeat.bootId == online.bootId)
                #expect(heartbeat.intervalS == 1)
                #expect(heartbeat.host.memTotalBytes ?? 0 > 0)
                #expect(heartbeat.agent.rssBytes ?? 0 > 0)
                #expect(heartbeat.disk.path == agent.directory.path)
                // MQTT 5: the retained heartbeat expires after three intervals.
                #expect(beat.messageExpiryInterval != nil && beat.messageExpiryInterval! <= 3)
            }
        }
    }

    @Test("SIGKILL of the worker leaves the Last Will, and the supervisor brings a new run back")
    func lastWillAndRestartOnKill() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/kite/status"])
            defer { hub.close() }
            try await withAgent("kite", broker: broker) { agent in
                let first = try await hub.waitOnline("kite")
                let worker = try #require(agent.workerPID(), "the supervisor has a worker")
                kill(worker, SIGKILL)
                let will = try await hub.waitForMessage("Last Will") { message in
                    (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .offline
                }
                let lost = try FleetJSON.decode(StatusPayload.self, from: will.payload)
                #expect(lost.reason == .lost)
                #expect(lost.bootId == first.bootId)
                _ = try await hub.waitForMessage("online again within 10 s", timeout: 10) { message in
                    guard let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                    return status.state == .online && status.bootId != first.bootId
                }
                #expect(agent.workerPID() != worker)
                #expect(zombieChildren(of: agent.pid).isEmpty)
                #expect(agent.log().contains("worker died; restarting"))
            }
        }
    }

    @Test("SIGTERM and SIGINT announce shutdown, disconnect cleanly and exit 0 within 5 seconds", arguments: [SIGTERM, SIGINT])
    func shutdownOnSignal(_ number: Int32) async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/swift/status"])
            defer { hub.close() }
            let agent = try TestAgent(name: "swift", broker: broker)
            try agent.start()
            _ = try await hub.waitForMessage("online") { $0.topic == "fleet/swift/status" }
            let process = try #require(agent.process)
            process.signal(number)
            let exitStatus = await process.waitForExit(seconds: 5)
            if exitStatus == nil { await agent.stop() }
            #expect(exitStatus == 0, "the agent did not exit with 0 within 5 s of SIGTERM")
            let offline = try await hub.waitForMessage("shutdown status") { message in
                (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .offline
            }
            let status = try FleetJSON.decode(StatusPayload.self, from: offline.payload)
            #expect(status.reason == .shutdown, "a clean disconnect must not leave the Last Will")
            #expect(status.ts != nil)
            #expect(agent.log().contains("shutting down"))
        }
    }

    @Test("a command published while the agent is down is answered after it restarts")
    func persistentSession() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/moss/response", "fleet/moss/status"])
            defer { hub.close() }
            let agent = try TestAgent(name: "moss", broker: broker)
            try agent.start()
            _ = try await hub.waitForMessage("online") {
                $0.topic == "fleet/moss/status" && String(decoding: $0.payload, as: UTF8.self).contains("online")
            }
            #expect(await agent.stop() == 0)

            try hub.publish("fleet/moss/command", #"{"command": "status-report", "id": "queued-1"}"#)
            // Restart the broker too: with persistence on, the session and its queue survive.
            await broker.stop()
            hub.close()
            try await broker.start()
            let hub2 = try await TestHub.connect(to: broker, topics: ["fleet/moss/response"])
            defer { hub2.close() }

            try agent.start()
            let answer = try await hub2.waitForResponse(on: "fleet/moss/response", "answer to the queued command") { $0.id == "queued-1" }
            guard case .status(let report) = answer.outcome else { Issue.record("status-report failed: \(answer)"); return }
            #expect(report.counters.lastSessionPresent == true)
            #expect(report.counters.sessionsResumed == 1)
            await agent.stop()
        }
    }

    @Test("the agent publishes to its three topics and nothing else")
    func onlyItsOwnTopics() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["#"])
            defer { hub.close() }
            try await withAgent("fern", broker: broker, environment: ["HEARTBEAT_INTERVAL": "1"]) { agent in
                _ = try await hub.waitForMessage("online") { $0.topic == "fleet/fern/status" }
                for command in FleetCommand.allCases { try hub.publish("fleet/fern/command", command.rawValue) }
                try hub.publish(
                    "fleet/fern/command", #"{"command": "status-report", "id": "x", "topic": "fleet/other/status", "path": "/etc/passwd"}"#)
                try hub.publish("zephyr/broadcast", "health-check")
                _ = try await hub.waitForResponse(on: "fleet/fern/response", "last answer") { $0.id == "x" }
                _ = try await hub.waitForMessage("second heartbeat") { message in
                    message.topic == "fleet/fern/heartbeat" && (try? FleetJSON.decode(Heartbeat.self, from: message.payload))?.seq ?? 0 >= 2
                }
                await agent.stop()
                _ = try await hub.waitForMessage("shutdown") {
                    $0.topic == "fleet/fern/status" && String(decoding: $0.payload, as: UTF8.self).contains("shutdown")
                }
            }
            let allowed: Set<String> = ["fleet/fern/response", "fleet/fern/heartbeat", "fleet/fern/status", "fleet/fern/command", "zephyr/broadcast"]
            let topics = Set(hub.messages.map(\.topic))
            #expect(topics.isSubset(of: allowed), "unexpected topics: \(topics.subtracting(allowed))")
            #expect(!hub.messages.contains { String(decoding: $0.payload, as: UTF8.self).contains("root:") })
        }
    }

    @Test("SIGHUP reloads the configuration file; an invalid file keeps the old settings")
    func sighupReload() async throws {
        try await withBroker { broker in
            let configFile = try makeTemporaryDirectory(prefix: "cfg").appendingPathComponent("agent.env")
            try "HEARTBEAT_INTERVAL=30\n".write(to: configFile, atomically: true, encoding: .utf8)
            try await withAgent("reed", broker: broker, environment: ["HATCHLING_AGENT_CONFIG": configFile.path]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/reed/#"])
                defer { hub.close() }
                _ = try await hub.waitForMessage("online") { $0.topic == "fleet/reed/status" }

                try "HEARTBEAT_INTERVAL=zero\n".write(to: configFile, atomically: true, encoding: .utf8)
                agent.signal(SIGHUP)
                try await waitForLog(agent, containing: "configuration reload failed (SIGHUP)")
                try "# good again\nHEARTBEAT_INTERVAL=1\nMQTT_KEEPALIVE=40\n".write(to: configFile, atomically: true, encoding: .utf8)
                agent.signal(SIGHUP)
                let fast = try await hub.waitForMessage("heartbeat at the new interval") { message in
                    message.topic == "fleet/reed/heartbeat" && (try? FleetJSON.decode(Heartbeat.self, from: message.payload))?.intervalS == 1
                }
                #expect(fast.messageExpiryInterval ?? 99 <= 3)
                try hub.publish("fleet/reed/command", #"{"command": "status-report", "id": "s"}"#)
                let status = try await hub.waitForResponse(on: "fleet/reed/response", "status") { $0.id == "s" }
                guard case .status(let report) = status.outcome else { Issue.record("status-report failed"); return }
                #expect(report.counters.reloadFailures == 1)
                #expect(report.counters.reloads == 1)
                let log = agent.log()
                #expect(log.contains("configuration reload failed (SIGHUP)"))
                #expect(log.contains("MQTT_KEEPALIVE"), "a setting that needs a restart is reported")
            }
        }
    }

    @Test("MQTT 3.1.1 works when configured")
    func protocol311() async throws {
        try await withBroker { broker in
            try await withAgent("oak", broker: broker, environment: ["MQTT_PROTOCOL": "3.1.1"]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/oak/#"], protocolVersion: .v311)
                defer { hub.close() }
                _ = try await hub.waitForMessage("online") { $0.topic == "fleet/oak/status" }
                try hub.publish("fleet/oak/command", "health-check")
                let answer = try await hub.waitForResponse(on: "fleet/oak/response", "answer")
                guard case .health(let report) = answer.outcome else { Issue.record("health-check failed"); return }
                #expect(report.checks.bus.protocol == "3.1.1")
                #expect(agent.log().contains("mqtt.protocol=3.1.1"))
            }
        }
    }

    @Test("the agent starts before the broker, keeps trying quietly, and connects when it appears")
    func brokerLater() async throws {
        let broker = try TestBroker()
        let agent = try TestAgent(name: "pine", broker: broker, environment: ["MQTT_RECONNECT_MAX": "1"])
        try agent.start()
        do {
            try await waitForLog(agent, containing: "connecting", count: 4)
            #expect(agent.process?.isRunning == true, "no broker is not a reason to exit")
            try await broker.start()
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/pine/status"])
            _ = try await hub.waitForMessage("online") { $0.topic == "fleet/pine/status" }
            hub.close()
        } catch {
            await agent.stop()
            await broker.stop()
            throw error
        }
        #expect(await agent.stop() == 0)
        await broker.stop()
        let log = agent.log()
        let cannot = log.components(separatedBy: "cannot connect").count - 1
        #expect(cannot == 1, "a failing broker is logged once per change, not once per attempt:\n\(log)")
    }

    /// A 3.1.1-only stand-in broker (Fixtures/mqtt311_only_broker.py) answering MQTT 5 as `mode` says.
    func withFake311Broker(mode: String, _ body: (Int, URL) async throws -> Void) async throws {
        let port = try freePort()
        let directory = try makeTemporaryDirectory(prefix: "fake-broker")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mqtt311_only_broker.py")
        let fake = try ChildProcess(
            executable: try which("python3"),
            arguments: [script.path, String(port), directory.appendingPathComponent("events.log").path, mode],
            environment: ["PATH": "/usr/bin:/bin"], outputPath: directory.appendingPathComponent("fake.log").path)
        defer { fake.signal(SIGKILL) }
        try await waitForPort(port, deadline: 15)
        try await body(port, directory.appendingPathComponent("events.log"))
        await fake.terminate(signal: SIGTERM, grace: 5)
    }

    @Test(
        "with the default MQTT_PROTOCOL (auto), a 3.1.1-only broker that refuses, closes on or ignores MQTT 5 gets 3.1.1; the fallback is logged once",
        arguments: ["refuse", "close", "silent"])
    func fallbackTo311(_ mode: String) async throws {
        try await withFake311Broker(mode: mode) { port, events in
            // No MQTT_PROTOCOL and no MQTT_CONNECT_TIMEOUT: the defaults must do (a silent broker costs 10 s).
            let agent = try TestAgent(name: "birch", broker: nil, environment: ["MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port)])
            try agent.start()
            do {
                try await waitFor("the agent to publish its status under 3.1.1", timeout: 40) {
                    let text = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
                    return text.contains("refused level 5") && text.contains("accepted level 4") && text.contains("PUBLISH fleet/birch/status")
                }
                let log = agent.log()
                #expect(log.components(separatedBy: "using MQTT 3.1.1 with it from now on").count - 1 == 1, "\(log)")
                if mode == "silent" { #expect(log.contains("sent no answer to an MQTT 5 CONNECT"), "\(log)") }
                if mode == "close" { #expect(log.contains("closed the connection on an MQTT 5 CONNECT"), "\(log)") }
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }

    @Test("a broker that accepts the connection and drops it at the subscription is not taken for another client with the id")
    func droppedAtSubscription() async throws {
        try await withFake311Broker(mode: "drop-at-subscribe") { port, events in
            let agent = try TestAgent(
                name: "birch", broker: nil,
                environment: ["MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port), "MQTT_RECONNECT_MAX": "2"])
            try agent.start()
            do {
                // Three drops within a minute is what the takeover detector calls a ping-pong.
                try await waitFor("four connections dropped at their SUBSCRIBE", timeout: 60) {
                    let text = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
                    return text.components(separatedBy: "dropped at SUBSCRIBE").count - 1 >= 4
                }
                let log = agent.log()
                #expect(log.components(separatedBy: "dropped it at the subscription").count - 1 == 1, "logged once: \(log)")
                #expect(!log.contains("in use by another connection"), "\(log)")
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }

    @Test("MQTT_PROTOCOL=5 means MQTT 5 only: no fall back to 3.1.1")
    func onlyV5() async throws {
        try await withFake311Broker(mode: "refuse") { port, events in
            let agent = try TestAgent(
                name: "birch", broker: nil, environment: ["MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port), "MQTT_PROTOCOL": "5"])
            try agent.start()
            do {
                try await waitFor("two refused MQTT 5 attempts", timeout: 30) {
                    let text = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
                    return text.components(separatedBy: "refused level 5").count - 1 >= 2
                }
                let text = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
                #expect(!text.contains("accepted level 4"))
            } catch {
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }

    @Test("fleetctl negotiates like the agent: auto reaches a broker that closes on MQTT 5, and tries the next broker of a list")
    func fleetctlFallback() async throws {
        try await withFake311Broker(mode: "close") { port, events in
            let closed = try freePort()  // nothing listens here: the first broker of the list is down
            let result = try await Fleetctl.run(
                ["status", "--json"],
                environment: [
                    "MQTT_HOST": "127.0.0.1:\(closed),127.0.0.1:\(port)", "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
                ])
            #expect(result.status == 0, "\(result.stderr)")
            let text = (try? String(contentsOf: events, encoding: .utf8)) ?? ""
            #expect(text.contains("refused level 5") && text.contains("accepted level 4"), "\(text)")
        }
    }
}

/// Waits until the agent's log holds `text` at least `count` times.
func waitForLog(_ agent: TestAgent, containing text: String, count: Int = 1, timeout: Double = 20) async throws {
    try await waitFor("\(count)x '\(text)' in the agent's log", timeout: timeout) {
        agent.log().components(separatedBy: text).count - 1 >= count
    }
}

/// Polls a condition that has no event to await (a file another process writes), with a deadline.
func waitFor(_ what: String, timeout: Double = 20, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        guard Date() < deadline else { throw TestError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}

@Suite("Threads of a running agent")
struct AgentThreadTests {
    @Test(
        "the worker has its event loop, the I/O worker, the connector, the prober and the local socket's thread, named (top -H, /proc), and no other (no libdispatch pool); the supervisor has one thread"
    )
    func threadNames() async throws {
        try await withBroker { broker in
            try await withAgent("tern", broker: broker) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/tern/status", "fleet/tern/response"])
                defer { hub.close() }
                _ = try await hub.waitOnline("tern")
                let worker = try #require(agent.workerPID(), "the supervisor has no worker")
                func threads(of pid: Int32) -> [String] {
                    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
                    return tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
                        .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.sorted()
                }
                let expected = ["gateway-probe", "hatchling-agent", "io-worker", "local-socket", "mqtt-connect"]
                var names: [String] = []
                try await waitFor("the worker's threads named", timeout: 20) {
                    names = threads(of: worker)
                    return names == expected
                }
                #expect(names == expected)
                // Several commands and heartbeats later, still no other thread (a pool would show now).
                for index in 0..<5 {
                    try hub.publish("fleet/tern/command", #"{"command":"health-check","id":"t-\#(index)"}"#)
                }
                _ = try await hub.waitForResponse(on: "fleet/tern/response", "the last health-check", timeout: 20) { $0.id == "t-4" }
                #expect(threads(of: worker) == expected)
                #expect(threads(of: agent.pid) == ["hatchling-agent"], "the supervisor runs on its main thread alone")
            }
        }
    }
}
