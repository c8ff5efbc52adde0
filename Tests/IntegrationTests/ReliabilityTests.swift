import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// Faults the agent must ride out, with real processes: brokers stopped and started, a TCP proxy
/// frozen with SIGSTOP, two agents with one client id.
@Suite("Reliability", .serialized)
struct ReliabilityTests {
    @Test("a broker restart: the agent reconnects on its own, with its session still there")
    func brokerRestart() async throws {
        try await withBroker { broker in
            try await withAgent("teal", broker: broker, environment: ["MQTT_RECONNECT_MAX": "1"]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/teal/status"])
                let first = try await hub.waitOnline("teal")
                hub.close()
                await broker.stop()
                try await waitForLog(agent, containing: "disconnected")
                try await broker.start()
                let hub2 = try await TestHub.connect(to: broker, topics: ["fleet/teal/status", "fleet/teal/response"])
                defer { hub2.close() }
                let again = try await hub2.waitForMessage("online after the restart") { message in
                    guard let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                    return status.state == .online && status.ts != first.ts
                }
                #expect(try FleetJSON.decode(StatusPayload.self, from: again.payload).bootId == first.bootId, "the same run reconnected")
                try hub2.publish("fleet/teal/command", #"{"command": "status-report", "id": "s"}"#)
                let status = try await hub2.waitForResponse(on: "fleet/teal/response", "status") { $0.id == "s" }
                guard case .status(let report) = status.outcome else { Issue.record("status-report failed"); return }
                #expect(report.counters.connects == 2)
                #expect(report.counters.lastSessionPresent == true)
            }
        }
    }

    @Test("with the broker gone, attempts back off: ceilings double from 0.5 s to the cap, and each wait stays under its ceiling")
    func backoffDuringOutage() async throws {
        let broker = try TestBroker()
        let agent = try TestAgent(name: "wisp", broker: broker, environment: ["MQTT_RECONNECT_MAX": "2"])
        try agent.start()
        defer { Task { await agent.stop() } }
        try await waitForLog(agent, containing: "waiting before the next attempt", count: 5, timeout: 30)
        await agent.stop()
        let lines = agent.log().split(separator: "\n").filter { $0.contains("waiting before the next attempt") }
        let ceilings = lines.compactMap { value(of: "backoff.ceiling_s", in: $0).flatMap(Double.init) }
        let waits = lines.compactMap { value(of: "retry_in_s", in: $0).flatMap(Double.init) }
        #expect(Array(ceilings.prefix(5)) == [0.5, 1, 2, 2, 2])
        for (wait, ceiling) in zip(waits, ceilings) { #expect(wait >= 0 && wait <= ceiling) }
        let connecting = agent.log().components(separatedBy: "debug hatchling-agent: connecting").count - 1
        #expect(connecting == lines.count || connecting == lines.count + 1, "one attempt per wait")
    }

    @Test("broker failover: the next broker of MQTT_HOST is tried, and the first one again when the second goes")
    func failover() async throws {
        let first = try TestBroker()
        let second = try TestBroker()
        try await second.start()
        let agent = try TestAgent(
            name: "tern", broker: nil,
            environment: ["MQTT_HOST": "127.0.0.1:\(first.port),127.0.0.1:\(second.port)", "MQTT_RECONNECT_MAX": "1"])
        try agent.start()
        do {
            let hub2 = try await TestHub.connect(to: second, topics: ["fleet/tern/status"])
            try await hub2.waitOnline("tern")
            hub2.close()
            try await first.start()
            await second.stop()
            let hub1 = try await TestHub.connect(to: first, topics: ["fleet/tern/status"])
            try await hub1.waitOnline("tern")
            hub1.close()
            #expect(agent.log().contains("mqtt.broker=127.0.0.1:\(first.port)"))
            // The backoff is per round of the list: the broker that refused is followed by the next
            // one at once, never by a wait.
            #expect(agent.log().contains("trying the next broker of MQTT_HOST at once"), "\(agent.log())")
        } catch {
            await agent.stop()
            await first.stop()
            await second.stop()
            throw error
        }
        #expect(await agent.stop() == 0)
        await first.stop()
    }

    @Test("a frozen link is noticed through keepalive and ends in a reconnect once it thaws")
    func frozenLink() async throws {
        try await withBroker { broker in
            let proxyPort = try freePort()
            let proxyLog = try makeTemporaryDirectory(prefix: "socat").appendingPathComponent("socat.log")
            let proxy = try ChildProcess(
                executable: try which("socat"),
                arguments: ["TCP-LISTEN:\(proxyPort),bind=127.0.0.1,reuseaddr,fork", "TCP:127.0.0.1:\(broker.port)"],
                environment: [:], outputPath: proxyLog.path)
            defer { proxy.signal(SIGKILL) }
            try await waitForPort(proxyPort, deadline: 15)
            try await withAgent(
                "loon", broker: broker,
                environment: ["MQTT_PORT": String(proxyPort), "MQTT_KEEPALIVE": "5", "MQTT_RECONNECT_MAX": "2"]
            ) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/loon/status"])
                defer { hub.close() }
                let online = try await hub.waitOnline("loon")
                // Freeze the proxy (and every connection it carries): nothing is closed, nothing flows.
                kill(proxy.pid, SIGSTOP)
                for child in childPIDs(of: proxy.pid) { kill(child, SIGSTOP) }
                try await waitForLog(agent, containing: "disconnected", timeout: 40)
                // The broker gives up on the silent client too, and publishes its Last Will.
                _ = try await hub.waitForMessage("Last Will", timeout: 40) { message in
                    (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .lost
                }
                for child in childPIDs(of: proxy.pid) { kill(child, SIGCONT) }
                kill(proxy.pid, SIGCONT)
                _ = try await hub.waitForMessage("online again through the thawed proxy", timeout: 40) { message in
                    guard let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                    return status.state == .online && status.ts != online.ts && status.bootId == online.bootId
                }
            }
        }
    }

    @Test("three broker restarts within a minute are not taken for two agents fighting over one client id")
    func repeatedBrokerRestarts() async throws {
        try await withBroker { broker in
            try await withAgent("wren", broker: broker, environment: ["MQTT_RECONNECT_MAX": "30"]) { agent in
                for round in 1...3 {
                    try await waitForLog(agent, containing: "info hatchling-agent: connected", count: round, timeout: 30)
                    await broker.stop()
                    // The broker stays down until the agent has failed to reach it at least once.
                    try await waitForLog(agent, containing: "cannot connect to", count: round, timeout: 30)
                    try await broker.start()
                }
                try await waitForLog(agent, containing: "info hatchling-agent: connected", count: 4, timeout: 30)
                #expect(!agent.log().contains("is in use by another connection"), "a broker restart was taken for a client-id fight:\n\(agent.log())")
            }
        }
    }

    @Test("two agents with one client id: the ping-pong is noticed, logged with the id, and slowed to the cap")
    func twins() async throws {
        try await withBroker { broker in
            let environment = ["MQTT_RECONNECT_MAX": "4", "MQTT_CLIENT_ID": "fleet-handler-twin"]
            try await withAgent("twin", broker: broker, environment: environment) { first in
                try await withAgent("twin", broker: broker, environment: environment) { second in
                    try await waitFor("one twin to name the shared client id", timeout: 60) {
                        (first.log() + second.log()).contains("client id fleet-handler-twin is in use by another connection")
                    }
                    let log = first.log() + second.log()
                    #expect(log.contains("backing off to MQTT_RECONNECT_MAX"))
                    let lines = log.split(separator: "\n").filter {
                        $0.contains("waiting before the next attempt") && $0.contains("backoff.ceiling_s=4.0")
                    }
                    #expect(!lines.isEmpty, "after the ping-pong is noticed, waits are drawn near the cap")
                }
            }
        }
    }

    @Test("SIGTERM during a command: the command finishes and is answered before the shutdown status")
    func shutdownFinishesCommandInFlight() async throws {
        let gateway = try HangingListener()
        defer { gateway.close() }
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/crane/status", "fleet/crane/response"])
            defer { hub.close() }
            let agent = try TestAgent(
                name: "crane", broker: broker, environment: ["GATEWAY_HEALTH_URL": "http://127.0.0.1:\(gateway.port)/health"])
            try agent.start()
            try await hub.waitOnline("crane")
            try hub.publish("fleet/crane/command", #"{"command": "health-check", "id": "inflight"}"#)
            try await waitForLog(agent, containing: "command received command.id=inflight")
            let process = try #require(agent.process)
            process.signal(SIGTERM)
            let status = await process.waitForExit(seconds: 5)
            if status == nil { await agent.stop() }
            #expect(status == 0)
            let answer = try await hub.waitForResponse(on: "fleet/crane/response", "the in-flight answer") { $0.id == "inflight" }
            #expect(answer.ok)
            let order = hub.messages.map(\.topic)
            let responseIndex = try #require(order.firstIndex(of: "fleet/crane/response"))
            let shutdownIndex = try #require(
                hub.messages.firstIndex { (try? FleetJSON.decode(StatusPayload.self, from: $0.payload))?.reason == .shutdown })
            #expect(responseIndex < shutdownIndex, "the answer goes out before offline/shutdown")
        }
    }

    @Test(
        "SIGTERM with commands still waiting for the worker: each gets an answer (those that never ran: rate-limited, shutting down) before the shutdown status"
    )
    func shutdownAnswersQueuedCommands() async throws {
        let gateway = try HangingListener()
        defer { gateway.close() }
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/lark/status", "fleet/lark/response"])
            defer { hub.close() }
            try await withAgent("lark", broker: broker, environment: ["GATEWAY_HEALTH_URL": "http://127.0.0.1:\(gateway.port)/health"]) {
                agent in
                try await hub.waitOnline("lark")
                // Each probe hangs for its 2 s timeout: the second and third wait behind the first,
                // longer than the shutdown's 2 s drain.
                for index in 1...3 { try hub.publish("fleet/lark/command", #"{"command": "health-check", "id": "q-\#(index)"}"#) }
                try await waitForLog(agent, containing: "command received command.id=q-3")
                agent.signal(SIGTERM)
                var answers: [String: CommandResponse] = [:]
                for index in 1...3 {
                    answers["q-\(index)"] = try await hub.waitForResponse(on: "fleet/lark/response", "the answer to q-\(index)") {
                        $0.id == "q-\(index)"
                    }
                }
                #expect(answers["q-3"]?.error?.code == .rateLimited, "never ran: \(String(describing: answers["q-3"]))")
                #expect(answers["q-3"]?.error?.message.contains("shutting down") == true)
                _ = try await hub.waitForMessage("the shutdown status") {
                    (try? FleetJSON.decode(StatusPayload.self, from: $0.payload))?.reason == .shutdown
                }
                let order = hub.messages.map(\.topic)
                let lastAnswer = try #require(order.lastIndex(of: "fleet/lark/response"))
                let shutdown = try #require(
                    hub.messages.firstIndex { (try? FleetJSON.decode(StatusPayload.self, from: $0.payload))?.reason == .shutdown })
                #expect(lastAnswer < shutdown, "every answer goes out before offline/shutdown")
            }
        }
    }

    @Test("an answer made while the broker is away goes out once the agent is back: a broker outage loses no command")
    func answerAcrossOutage() async throws {
        let gateway = try HangingListener()
        defer { gateway.close() }
        try await withBroker { broker in
            let environment = ["GATEWAY_HEALTH_URL": "http://127.0.0.1:\(gateway.port)/health", "MQTT_RECONNECT_MAX": "1"]
            try await withAgent("kite", broker: broker, environment: environment) { agent in
                // A hub with a persistent session: what is published while it is away waits in it.
                let hub = try await TestHub.connect(
                    to: broker, topics: ["fleet/kite/status", "fleet/kite/response"], clientID: "kite-hub", cleanSession: false)
                _ = try await hub.waitOnline("kite")
                try hub.publish("fleet/kite/command", #"{"command": "health-check", "id": "outage"}"#)
                // The probe hangs for its 2 s timeout; meanwhile the broker goes.
                try await waitForLog(agent, containing: "command received command.id=outage")
                hub.close()
                await broker.stop()
                try await waitForLog(agent, containing: "answer kept until the broker accepts the next connection command.id=outage")
                try await broker.start()
                let back = try await TestHub.connect(to: broker, topics: ["fleet/kite/response"], clientID: "kite-hub", cleanSession: false)
                defer { back.close() }
                let answer = try await back.waitForResponse(on: "fleet/kite/response", "the answer made during the outage", timeout: 30) {
                    $0.id == "outage"
                }
                #expect(answer.ok)
                #expect(answer.command == "health-check")
            }
        }
    }

    @Test("SIGTERM while the TCP connect hangs (a broker behind a dead route): the agent still stops at once, exit 0")
    func stopWhileConnectHangs() async throws {
        let blackhole = try FullBacklogListener()
        defer { blackhole.close() }
        let agent = try TestAgent(name: "wren", broker: nil, environment: ["MQTT_HOST": "127.0.0.1:\(blackhole.port)"])
        try agent.start()
        try await waitForLog(agent, containing: "connecting mqtt.broker=127.0.0.1:\(blackhole.port)")
        let process = try #require(agent.process)
        process.signal(SIGTERM)
        let status = await process.waitForExit(seconds: 6)
        if status == nil { await agent.stop() }
        #expect(status == 0, "the worker must not wait for the connect: \(agent.log().suffix(600))")
        #expect(agent.log().contains("hatchling-agent stopped"))
    }
}

/// `key=value` from a log line.
func value(of key: String, in line: Substring) -> String? {
    guard let range = line.range(of: " \(key)=") else { return nil }
    return line[range.upperBound...].split(separator: " ").first.map(String.init)
}

/// A listening socket whose queue of completed connections is full: the kernel drops further SYNs,
/// so a connect to it hangs until the client gives up (minutes), as behind a dead route.
final class FullBacklogListener: Sendable {
    let listener: HangingListener
    let fillers: [Int32]
    var port: Int { listener.port }

    init() throws {
        listener = try HangingListener(backlog: 0)
        // A backlog of 0 holds one completed connection; two more make sure it is full.
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(listener.port).bigEndian)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        fillers = (0..<3).map { _ in
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) } }
            return client
        }
    }

    func close() {
        for filler in fillers { _ = Glibc.close(filler) }
        listener.close()
    }
}
