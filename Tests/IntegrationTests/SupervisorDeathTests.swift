import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// The worker dies with its supervisor (PR_SET_PDEATHSIG, and a parent check after the fork):
/// a SIGKILLed `hatchling-agent run` leaves no orphan online to fight a restarted agent.
@Suite("Worker and supervisor")
struct SupervisorDeathTests {
    /// Whether `pid` has ended (gone, or a zombie waiting for whoever it was reparented to).
    static func ended(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")")
        else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    @Test("SIGKILL of the supervisor: its worker announces shutdown and ends within 10 s; a restart finds no twin")
    func supervisorKilled() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/wren/status", "fleet/wren/response"])
            defer { hub.close() }
            let agent = try TestAgent(name: "wren", broker: broker)
            try agent.start()
            do {
                let first = try await hub.waitOnline("wren")
                let worker = try #require(agent.workerPID(), "the supervisor runs a worker")
                await agent.kill9()
                let offline = try await hub.waitForMessage("wren offline after its supervisor died", timeout: 10) { message in
                    guard message.topic == "fleet/wren/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
                    else { return false }
                    return status.state == .offline && status.bootId == first.bootId
                }
                #expect(try FleetJSON.decode(StatusPayload.self, from: offline.payload).reason == .shutdown)
                try await waitFor("the orphaned worker to end", timeout: 10) { Self.ended(worker) }

                try agent.start()
                let second = try await hub.waitForMessage("wren online again", timeout: 15) { message in
                    guard message.topic == "fleet/wren/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
                    else { return false }
                    return status.state == .online && status.bootId != first.bootId
                }
                _ = second
                // With no twin, the new run's connection is its only one: one connect, no takeover.
                try hub.publish("fleet/wren/command", #"{"command": "status-report", "id": "twin-check"}"#)
                let answer = try await hub.waitForResponse(on: "fleet/wren/response", "status-report") { $0.id == "twin-check" }
                guard case .status(let report) = answer.outcome else { throw TestError("status-report failed: \(answer)") }
                #expect(report.counters.connects == 1)
                #expect(!agent.log().contains("is in use by another connection"), "\(agent.log())")
            } catch {
                print(agent.log())
                await agent.stop()
                throw error
            }
            await agent.stop()
        }
    }

    @Test("a worker whose supervisor is not its parent exits at once instead of running unsupervised")
    func orphanAtStart() async throws {
        let agent = try TestAgent(
            name: "wren", broker: nil,
            environment: ["MQTT_HOST": "127.0.0.1", "MQTT_PORT": "9", "HATCHLING_AGENT_ROLE": "worker", "HATCHLING_AGENT_SUPERVISOR_PID": "1"])
        try agent.start()
        let status = await agent.process?.waitForExit(seconds: 10)
        #expect(status == 1)
        #expect(agent.log().contains("the supervisor that started this worker is gone"), "\(agent.log())")
        await agent.stop()
    }

    /// The start of the binary's first mapping (its load address) and the pipes among its descriptors.
    static func loadAddress(_ pid: pid_t) -> String? {
        guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { return nil }
        return maps.split(separator: "\n").first.map { String($0.prefix { $0 != "-" }) }
    }

    static func pipes(_ pid: pid_t) -> Set<String> {
        let folder = "/proc/\(pid)/fd"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return Set(
            names.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/\($0)") }.filter { $0.hasPrefix("pipe:") })
    }

    static func statusField(_ pid: pid_t, _ key: String) -> String? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        return status.split(separator: "\n").first { $0.hasPrefix(key + ":") }.map {
            $0.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
        }
    }

    @Test(
        "the first worker is a fork (the supervisor's layout, none of its descriptors, no signal blocked); a worker after a crash is a new program with a layout of its own"
    )
    func forkedThenExecuted() async throws {
        try await withBroker { broker in
            try await withAgent("wren", broker: broker) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/wren/status"])
                defer { hub.close() }
                let first = try await hub.waitOnline("wren")
                let forked = try #require(agent.workerPID(), "the supervisor runs a worker:\n\(agent.log())")
                let supervisorPipes = Self.pipes(agent.pid)
                #expect(!supervisorPipes.isEmpty, "the supervisor's signal pipe")
                #expect(Self.pipes(forked).isDisjoint(with: supervisorPipes), "the worker closed what it inherited")
                #expect(Self.statusField(forked, "SigBlk").map { $0.allSatisfy { $0 == "0" } } == true, "no signal blocked in the worker")
                #expect(Self.loadAddress(forked) != nil && Self.loadAddress(forked) == Self.loadAddress(agent.pid), "forked: the same layout")
                let environment = try String(contentsOfFile: "/proc/\(forked)/environ", encoding: .utf8)
                #expect(!environment.contains("HATCHLING_AGENT_ROLE"))

                kill(forked, SIGKILL)
                _ = try await hub.waitForMessage("wren online again after the crash", timeout: 15) { message in
                    guard let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                    return status.state == .online && status.bootId != first.bootId
                }
                let executed = try #require(agent.workerPID())
                #expect(executed != forked)
                let restartedEnvironment = try String(contentsOfFile: "/proc/\(executed)/environ", encoding: .utf8)
                #expect(restartedEnvironment.contains("HATCHLING_AGENT_ROLE=worker"), "started as a new program")
                // With address-space randomisation on, a new program is loaded elsewhere (the odds
                // of the same address are one in 2^28 or so).
                let randomised =
                    (try? String(contentsOfFile: "/proc/sys/kernel/randomize_va_space", encoding: .utf8))
                    .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) != "0" } ?? false
                if randomised {
                    #expect(Self.loadAddress(executed) != Self.loadAddress(agent.pid), "a layout of its own")
                }
                #expect(Self.pipes(executed).isDisjoint(with: supervisorPipes))
            }
        }
    }

    @Test(
        "idle pool threads on either side change nothing: the worker outlives the supervisor's, and still dies with the supervisor after its own have been retired"
    )
    func workerSurvivesIdleSupervisor() async throws {
        try await withBroker { broker in
            try await withAgent("wren", broker: broker) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/wren/status"])
                defer { hub.close() }
                let online = try await hub.waitOnline("wren")
                let worker = try #require(agent.workerPID())
                // libdispatch retires idle pool threads after a few seconds. A worker spawned from
                // one would get its death signal then, with the supervisor alive; a worker that asked
                // for its death signal on one would lose the request with the thread.
                try await Task.sleep(for: .seconds(12))
                #expect(!Self.ended(worker), "the worker is still running:\n\(agent.log())")
                #expect(agent.workerPID() == worker)
                await agent.kill9()
                _ = try await hub.waitForMessage("wren offline after its supervisor died", timeout: 10) { message in
                    guard message.topic == "fleet/wren/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
                    else { return false }
                    return status.state == .offline && status.bootId == online.bootId
                }
                try await waitFor("the orphaned worker to end", timeout: 10) { Self.ended(worker) }
            }
        }
    }
}
