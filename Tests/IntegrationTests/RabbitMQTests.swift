import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// The agent and fleetctl against RabbitMQ 3.10 (MQTT 3.1.1 only; it closes the connection on an
/// MQTT 5 CONNECT), set up from template/rabbitmq: users from add-hatchling.sh, the policy from
/// setup.sh. No test sets MQTT_PROTOCOL: the default (auto) must find 3.1.1 by itself.
/// The nodes: `RabbitMQNodes` (scripts/rabbitmq-nodes.sh, started once per run).
@Suite("RabbitMQ: one node", .serialized)
struct RabbitMQTests {
    /// A hatchling user on the node, and an agent environment that logs in with it.
    func hatchling(_ name: String, _ nodes: RabbitMQNodes, extra: [String: String] = [:]) async throws -> [String: String] {
        let passwordFile = try await nodes.addUser([name], on: nodes.standalone)
        return [
            "MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(nodes.standalone.port),
            "MQTT_USERNAME": name, "MQTT_PASSWORD_FILE": passwordFile.path,
        ].merging(extra) { $1 }
    }

    /// The hub user's TestHub (MQTT 3.1.1, the only version RabbitMQ speaks), on exact topics:
    /// RabbitMQ 3.10 sends retained messages only to subscriptions without wildcards.
    func hub(_ nodes: RabbitMQNodes, _ topics: [String]) async throws -> TestHub {
        let hub = try await nodes.hub(on: nodes.standalone)
        return try await TestHub.connect(
            port: nodes.standalone.port, topics: topics, protocolVersion: .v311, username: "zephyr", password: hub.password)
    }

    /// A live (not retained) online status: the nodes outlive a test, so a retained status can be
    /// an earlier run's.
    @discardableResult
    func waitLiveOnline(_ hub: TestHub, _ name: String) async throws -> StatusPayload {
        let message = try await hub.waitForMessage("\(name) online", timeout: 30) { message in
            message.topic == "fleet/\(name)/status" && !message.retain
                && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .online
        }
        return try FleetJSON.decode(StatusPayload.self, from: message.payload)
    }

    func startAgent(_ name: String, environment: [String: String]) throws -> TestAgent {
        let agent = try TestAgent(name: name, broker: nil, environment: environment)
        try agent.start()
        return agent
    }

    @Test("auto falls back to 3.1.1; the four commands are answered through fleetctl send")
    func commands() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let environment = try await hatchling("rabbit-cmd", nodes)
        let hubUser = try await nodes.hub(on: nodes.standalone)
        let watcher = try await hub(nodes, ["fleet/rabbit-cmd/status"])
        defer { watcher.close() }
        let agent = try startAgent("rabbit-cmd", environment: environment)
        do {
            try await waitLiveOnline(watcher, "rabbit-cmd")
            let log = agent.log()
            #expect(log.contains("closed the connection on an MQTT 5 CONNECT"), "\(log)")
            #expect(log.contains("mqtt.protocol=3.1.1"), "\(log)")
            let env = nodes.fleetctlEnvironment(hosts: "127.0.0.1:\(nodes.standalone.port)", passwordFile: hubUser.passwordFile)
            for command in ["health-check", "version-report", "status-report"] {
                let result = try await Fleetctl.run(["send", "rabbit-cmd", command, "--json", "--timeout", "15"], environment: env)
                #expect(result.status == 0, "\(command): \(result.stdout)\(result.stderr)")
                let answer = try #require((try result.json()["answers"] as? [[String: Any]])?.first, "\(command): \(result.stdout)")
                #expect(answer["ok"] as? Bool == true, "\(command): \(result.stdout)")
            }
            let health = try await Fleetctl.run(["send", "rabbit-cmd", "health-check", "--json", "--timeout", "15"], environment: env)
            let answer = (try health.json()["answers"] as? [[String: Any]])?.first
            let result = (answer?["response"] as? [String: Any])?["result"] as? [String: Any]
            let bus = (result?["checks"] as? [String: Any])?["bus"] as? [String: Any]
            #expect(bus?["protocol"] as? String == "3.1.1", "\(health.stdout)")
            // No configuration file: the agent answers config-reload with reload-failed (exit 1).
            let reload = try await Fleetctl.run(["send", "rabbit-cmd", "config-reload", "--json", "--timeout", "15"], environment: env)
            #expect(reload.status == 1, "\(reload.stdout)\(reload.stderr)")
            #expect(reload.stdout.contains("reload-failed"), "\(reload.stdout)")
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }
        await agent.stop()
    }

    @Test(
        "a broadcast reaches every agent; fleetctl send --all, signed, finds them by the key directory (RabbitMQ keeps retained messages from wildcard subscriptions)"
    )
    func broadcast() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let names = ["rabbit-bc1", "rabbit-bc2"]
        var environments: [[String: String]] = []
        for name in names {
            // Signed, as the template has it: the hub's key directory then names the fleet.
            let key = nodes.secrets(for: nodes.standalone).appendingPathComponent("\(name)/command-key").path
            environments.append(try await hatchling(name, nodes).merging(["FLEET_COMMAND_KEY_FILE": key]) { $1 })
        }
        let hubUser = try await nodes.hub(on: nodes.standalone)
        let watcher = try await hub(nodes, names.flatMap { ["fleet/\($0)/status", "fleet/\($0)/response"] })
        defer { watcher.close() }
        var agents: [TestAgent] = []
        do {
            for (name, environment) in zip(names, environments) { agents.append(try startAgent(name, environment: environment)) }
            for name in names { try await waitLiveOnline(watcher, name) }
            try watcher.publish("zephyr/broadcast", #"{"command": "health-check", "id": "bc-1"}"#)
            for name in names {
                let answer = try await watcher.waitForResponse(on: "fleet/\(name)/response", "\(name)'s answer to the broadcast") { $0.id == "bc-1" }
                #expect(answer.hatchling.rawValue == name)
            }
            // fleetctl send --all takes its targets from a `fleet/+/status` subscription's retained
            // messages, which RabbitMQ 3.10 does not deliver; unsigned, nothing is sent (exit 2) and
            // the note says why; signed, the key directory names the hatchlings whose exact status
            // topics are read.
            let env = nodes.fleetctlEnvironment(hosts: "127.0.0.1:\(nodes.standalone.port)", passwordFile: hubUser.passwordFile)
            let unsigned = try await Fleetctl.run(["send", "--all", "health-check", "--timeout", "10"], environment: env)
            #expect(unsigned.status == 2 && (unsigned.stdout + unsigned.stderr).contains("exact topics only"), "\(unsigned.stdout)\(unsigned.stderr)")
            let keys = nodes.secrets(for: nodes.standalone).appendingPathComponent("keys").path
            let all = try await Fleetctl.run(["send", "--all", "--key-dir", keys, "health-check", "--timeout", "15"], environment: env)
            #expect(all.status == 0, "\(all.stdout)\(all.stderr)")
            #expect(all.stdout.contains("2 ok, 0 failed, 0 no answer"), "\(all.stdout)")
            // Named hatchlings need no retained status.
            let named = try await Fleetctl.run(["send", "--key-dir", keys] + names + ["health-check", "--timeout", "15"], environment: env)
            #expect(named.status == 0, "\(named.stdout)\(named.stderr)")
            #expect(named.stdout.contains("2 ok, 0 failed, 0 no answer"), "\(named.stdout)")
        } catch {
            for agent in agents { print("agent log:\n\(agent.log())") }
            for agent in agents { await agent.stop() }
            throw error
        }
        for agent in agents { await agent.stop() }
    }

    @Test("a late subscriber sees the retained online status and heartbeat (exact topics)")
    func retained() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let environment = try await hatchling("rabbit-ret", nodes, extra: ["HEARTBEAT_INTERVAL": "1"])
        let hubUser = try await nodes.hub(on: nodes.standalone)
        let watcher = try await hub(nodes, ["fleet/rabbit-ret/heartbeat"])
        let agent = try startAgent("rabbit-ret", environment: environment)
        do {
            _ = try await watcher.waitForMessage("a live heartbeat", timeout: 30) { $0.topic == "fleet/rabbit-ret/heartbeat" && !$0.retain }
            watcher.close()
            let late = try await hub(nodes, ["fleet/rabbit-ret/status", "fleet/rabbit-ret/heartbeat"])
            defer { late.close() }
            let status = try await late.waitForMessage("retained status") { $0.topic == "fleet/rabbit-ret/status" }
            #expect(status.retain)
            let online = try FleetJSON.decode(StatusPayload.self, from: status.payload)
            #expect(online.state == .online)
            let beat = try await late.waitForMessage("retained heartbeat") { $0.topic == "fleet/rabbit-ret/heartbeat" && $0.retain }
            #expect(try FleetJSON.decode(Heartbeat.self, from: beat.payload).bootId == online.bootId)

            // fleetctl status subscribes to fleet/+/status and fleet/+/heartbeat, which RabbitMQ
            // answers with no retained message; with names it reads their exact topics.
            let env = nodes.fleetctlEnvironment(hosts: "127.0.0.1:\(nodes.standalone.port)", passwordFile: hubUser.passwordFile)
            let fleet = try await Fleetctl.run(["status", "rabbit-ret", "--json"], environment: env)
            #expect(fleet.status == 0, "\(fleet.stderr)")
            let hatchlings = try fleet.json()["hatchlings"] as? [[String: Any]] ?? []
            #expect(hatchlings.count == 1 && hatchlings.first?["name"] as? String == "rabbit-ret", "\(fleet.stdout)")
            #expect(hatchlings.first?["state"] as? String == "online", "\(fleet.stdout)")
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }
        await agent.stop()
    }

    @Test(
        "fleetctl forget on RabbitMQ: refused while online; once stopped, zephyr cannot clear it (RabbitMQ closes the connection at the clear, again on a new one: kept, exit 3, zephyr-admin named), zephyr-admin (add-hatchling.sh --admin) clears the retained status and heartbeat (RabbitMQ clears them after the PUBACK, the check waits); remove-hatchling.sh deletes the user and its secrets"
    )
    func forget() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let name = "rabbit-forget"
        let environment = try await hatchling(name, nodes)
        let hubUser = try await nodes.hub(on: nodes.standalone)
        let hosts = "127.0.0.1:\(nodes.standalone.port)"
        let zephyrEnv = nodes.fleetctlEnvironment(hosts: hosts, passwordFile: hubUser.passwordFile)
        let env = nodes.fleetctlEnvironment(hosts: hosts, passwordFile: try await nodes.admin(on: nodes.standalone), username: "zephyr-admin")
        let watcher = try await hub(nodes, ["fleet/\(name)/status", "fleet/\(name)/heartbeat"])
        defer { watcher.close() }
        let agent = try startAgent(name, environment: environment)
        do {
            let online = try await waitLiveOnline(watcher, name)
            _ = try await watcher.waitForMessage("a live heartbeat", timeout: 30) { $0.topic == "fleet/\(name)/heartbeat" && !$0.retain }
            let refused = try await Fleetctl.run(["forget", name, "--json"], environment: env)
            #expect(refused.status == 1, "\(refused.stdout)\(refused.stderr)")
            let refusal = try refused.json()["hatchlings"] as? [[String: Any]]
            #expect(refusal?.first?["result"] as? String == "refused-online")
            #expect(await agent.stop() == 0)
            _ = try await watcher.waitForMessage("offline (shutdown)", timeout: 30) { message in
                guard message.topic == "fleet/\(name)/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
                else { return false }
                return status.state == .offline && status.reason == .shutdown && status.bootId == online.bootId
            }
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }

        // As zephyr: its topic permission writes commands and the broadcast only. RabbitMQ closes
        // the connection at the denied clear; forget tries once more on a new connection, and
        // calls it the broker's refusal when that closes too.
        let denied = try await Fleetctl.run(["forget", name, "--json", "--timeout", "3"], environment: zephyrEnv)
        #expect(denied.status == 3, "\(denied.stdout)\(denied.stderr)")
        #expect((try denied.json()["hatchlings"] as? [[String: Any]])?.first?["result"] as? String == "kept", "\(denied.stdout)")
        let deniedNote = try denied.json()["note"] as? String ?? ""
        #expect(deniedNote.contains("closed the connection") && deniedNote.contains("MQTT_USERNAME=zephyr-admin"), "\(deniedNote)")

        let forgotten = try await Fleetctl.run(["forget", name, "--json", "--timeout", "15"], environment: env)
        #expect(forgotten.status == 0, "\(forgotten.stdout)\(forgotten.stderr)")
        let outcome = try forgotten.json()["hatchlings"] as? [[String: Any]]
        #expect(outcome?.first?["result"] as? String == "forgotten", "\(forgotten.stdout)")
        // zephyr-admin writes statuses and heartbeats alone: a command and an event are refused
        // (RabbitMQ closes the connection, so a QoS 1 publish gets no PUBACK).
        let adminFile = try await nodes.admin(on: nodes.standalone)
        for topic in ["fleet/\(name)/command", "fleet/\(name)/event"] {
            let refusedWrite = try await mosquittoClient(
                "mosquitto_pub", ["-t", topic, "-m", "x", "-q", "1"], port: nodes.standalone.port, user: "zephyr-admin", passwordFile: adminFile)
            #expect(refusedWrite.status != 0, "zephyr-admin wrote \(topic): \(refusedWrite)")
        }
        // The node writes its log a moment later.
        try await waitFor("the node's log names zephyr-admin's refused command", timeout: 20) {
            nodes.log(of: nodes.standalone).contains(
                "access to topic 'fleet.\(name).command' in exchange 'amq.topic' in vhost '/' refused for user 'zephyr-admin'")
        }

        let status = try await Fleetctl.run(["status", name, "--json"], environment: zephyrEnv)
        let listed = try status.json()["hatchlings"] as? [Any]
        #expect(status.status == 0 && listed?.isEmpty == true, "\(status.stdout)")

        var scriptEnvironment = ProcessInfo.processInfo.environment
        scriptEnvironment["RABBITMQCTL"] = nodes.ctl
        scriptEnvironment["RABBITMQ_NODE"] = nodes.standalone.name
        let secrets = nodes.secrets(for: nodes.standalone)
        let removed = try await runProcessOffPool(
            RabbitMQNodes.repositoryRoot.appendingPathComponent("template/rabbitmq/remove-hatchling.sh").path, [name, secrets.path],
            environment: scriptEnvironment)
        #expect(removed.status == 0 && removed.stdout.contains("fleetctl forget \(name)"), "\(removed.stdout)\(removed.stderr)")
        let users = try await nodes.rabbitmqctl(["-n", nodes.standalone.name, "-q", "list_users", "--no-table-headers"])
        #expect(!users.split(separator: "\n").contains { $0.split(separator: "\t").first.map(String.init) == name }, "\(users)")
        #expect(!FileManager.default.fileExists(atPath: secrets.appendingPathComponent(name).path))
        #expect(!FileManager.default.fileExists(atPath: secrets.appendingPathComponent("keys/\(name).key").path))
    }

    @Test("SIGKILL of the worker: RabbitMQ publishes the Last Will (lost), and the agent comes back")
    func lastWill() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let environment = try await hatchling("rabbit-will", nodes)
        let watcher = try await hub(nodes, ["fleet/rabbit-will/status"])
        defer { watcher.close() }
        let agent = try startAgent("rabbit-will", environment: environment)
        do {
            let first = try await waitLiveOnline(watcher, "rabbit-will")
            let worker = try #require(agent.workerPID(), "the supervisor has a worker")
            kill(worker, SIGKILL)
            let will = try await watcher.waitForMessage("Last Will", timeout: 30) { message in
                !message.retain && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.state == .offline
            }
            let lost = try FleetJSON.decode(StatusPayload.self, from: will.payload)
            #expect(lost.reason == .lost)
            #expect(lost.bootId == first.bootId)
            _ = try await watcher.waitForMessage("online again", timeout: 30) { message in
                guard !message.retain, let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                return status.state == .online && status.bootId != first.bootId
            }
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }
        await agent.stop()
        // A clean stop leaves `shutdown`, not the Last Will.
        _ = try await watcher.waitForMessage("shutdown status", timeout: 30) { message in
            !message.retain && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .shutdown
        }
    }

    @Test("a command published while the agent is down is answered after it restarts (persistent session)")
    func persistentSession() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let environment = try await hatchling("rabbit-moss", nodes)
        let watcher = try await hub(nodes, ["fleet/rabbit-moss/status", "fleet/rabbit-moss/response"])
        defer { watcher.close() }
        let agent = try startAgent("rabbit-moss", environment: environment)
        do {
            try await waitLiveOnline(watcher, "rabbit-moss")
            #expect(await agent.stop() == 0)
            try watcher.publish("fleet/rabbit-moss/command", #"{"command": "status-report", "id": "queued-1"}"#)
            try agent.start()
            let answer = try await watcher.waitForResponse(on: "fleet/rabbit-moss/response", "answer to the queued command", timeout: 30) {
                $0.id == "queued-1"
            }
            guard case .status(let report) = answer.outcome else {
                Issue.record("status-report failed: \(answer)")
                await agent.stop()
                return
            }
            #expect(report.counters.lastSessionPresent == true)
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }
        await agent.stop()
    }

    /// mosquitto_sub/mosquitto_pub (MQTT 3.1.1) with a hatchling's credentials and client id; both
    /// outputs in one text. Spawned with a clean signal mask (ChildProcess): `-W` relies on SIGALRM.
    func mosquittoClient(_ tool: String, _ arguments: [String], port: Int, user: String, passwordFile: URL) async throws -> (
        status: Int32?, output: String
    ) {
        let password = try String(contentsOf: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let output = try makeTemporaryDirectory(prefix: "mqtt-tool").appendingPathComponent("output")
        let child = try ChildProcess(
            executable: try which(tool),
            arguments: ["-V", "mqttv311", "-h", "127.0.0.1", "-p", String(port), "-u", user, "-P", password, "-i", user] + arguments,
            environment: ["PATH": "/usr/bin:/bin"], outputPath: output.path)
        var status = await child.waitForExit(seconds: 30)
        if status == nil { status = await child.terminate(signal: SIGKILL, grace: 5) }
        return (status, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    @Test("template topic permissions: hatchling A cannot read B's commands nor write B's topics (or its own command topic); A's agent works")
    func topicPermissions() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let port = nodes.standalone.port
        let passwordA = try await nodes.addUser(["rabbit-acl-a"], on: nodes.standalone)
        _ = try await nodes.addUser(["rabbit-acl-b"], on: nodes.standalone)
        let watcher = try await hub(
            nodes, ["fleet/rabbit-acl-b/status", "fleet/rabbit-acl-b/command", "fleet/rabbit-acl-a/event", "fleet/rabbit-acl-a/status"])
        defer { watcher.close() }

        // Reading: A's own command topic works (control), B's does not. The hub keeps publishing
        // while each subscriber runs; RabbitMQ refuses the forbidden SUBSCRIBE by closing the connection.
        let publisher = Task {
            var n = 0
            while !Task.isCancelled {
                n += 1
                try? watcher.publish("fleet/rabbit-acl-a/command", "for-a-\(n)")
                try? watcher.publish("fleet/rabbit-acl-b/command", "secret-for-b-\(n)")
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let own = try await mosquittoClient(
            "mosquitto_sub", ["-t", "fleet/rabbit-acl-a/command", "-C", "1", "-W", "20"], port: port, user: "rabbit-acl-a", passwordFile: passwordA)
        let foreign = try await mosquittoClient(
            "mosquitto_sub", ["-t", "fleet/rabbit-acl-b/command", "-W", "4"], port: port, user: "rabbit-acl-a", passwordFile: passwordA)
        let everything = try await mosquittoClient(
            "mosquitto_sub", ["-t", "fleet/#", "-W", "4"], port: port, user: "rabbit-acl-a", passwordFile: passwordA)
        publisher.cancel()
        #expect(own.status == 0 && own.output.contains("for-a-"), "A reads its own commands: \(own)")
        #expect(!foreign.output.contains("secret"), "A must not read B's commands: \(foreign.output)")
        #expect(!everything.output.contains("secret"), "A must not read fleet/#: \(everything.output)")
        #expect(
            nodes.log(of: nodes.standalone).contains(
                "access to topic 'fleet.rabbit-acl-b.command' in exchange 'amq.topic' in vhost '/' refused for user 'rabbit-acl-a'"))

        // Writing: B's status and A's own command topic are refused (RabbitMQ closes the connection,
        // so a QoS 1 publish gets no PUBACK); A's own event topic is allowed.
        let forged = try await mosquittoClient(
            "mosquitto_pub", ["-t", "fleet/rabbit-acl-b/status", "-m", "forged", "-q", "1"], port: port, user: "rabbit-acl-a", passwordFile: passwordA
        )
        let selfCommand = try await mosquittoClient(
            "mosquitto_pub", ["-t", "fleet/rabbit-acl-a/command", "-m", "self", "-q", "1"], port: port, user: "rabbit-acl-a", passwordFile: passwordA)
        let event = try await mosquittoClient(
            "mosquitto_pub", ["-t", "fleet/rabbit-acl-a/event", "-m", "allowed", "-q", "1"], port: port, user: "rabbit-acl-a", passwordFile: passwordA
        )
        #expect(forged.status != 0, "publishing to B's status must fail: \(forged)")
        #expect(selfCommand.status != 0, "a hatchling must not command itself: \(selfCommand)")
        #expect(event.status == 0, "A may publish its events: \(event)")
        _ = try await watcher.waitForMessage("A's event") { $0.topic == "fleet/rabbit-acl-a/event" }
        #expect(!watcher.messages.contains { $0.topic == "fleet/rabbit-acl-b/status" }, "the forged status must not arrive")

        // A's own agent works with the same user.
        let hubUser = try await nodes.hub(on: nodes.standalone)
        let agent = try startAgent(
            "rabbit-acl-a",
            environment: ["MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port), "MQTT_USERNAME": "rabbit-acl-a", "MQTT_PASSWORD_FILE": passwordA.path])
        do {
            let env = nodes.fleetctlEnvironment(hosts: "127.0.0.1:\(port)", passwordFile: hubUser.passwordFile)
            try await waitLiveOnline(watcher, "rabbit-acl-a")
            let answer = try await Fleetctl.run(["send", "rabbit-acl-a", "status-report", "--timeout", "15"], environment: env)
            #expect(answer.status == 0, "\(answer.stdout)\(answer.stderr)")
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }
        await agent.stop()
    }
}

/// Failover in a two-node RabbitMQ cluster (template/rabbitmq: session queues mirrored to both
/// nodes). The agent lists both nodes (MQTT_HOST=b,c); the node it is connected to is SIGKILLed
/// while the hub sends probe commands through the other. The figures go to the run log (and
/// docs/scaling.md). This is the only test that uses the cluster: it leaves one node dead.
@Suite("RabbitMQ: two-node cluster", .serialized)
struct RabbitMQClusterTests {
    @Test("SIGKILL of the agent's node: the agent moves to the other node, no probe command is lost, the retained status is back there")
    func failover() async throws {
        let nodes = try await RabbitMQNodes.shared()
        let (b, c) = (nodes.clusterB, nodes.clusterC)
        try #require(
            kill(b.pid, 0) == 0 && kill(c.pid, 0) == 0, "both cluster nodes must be running (this test kills one; it runs once per node start)")
        let name = "rabbit-failover"
        let passwordFile = try await nodes.addUser([name], on: b)
        let hubUser = try await nodes.hub(on: b)
        let agent = try TestAgent(
            name: name, broker: nil,
            environment: [
                "MQTT_HOST": "127.0.0.1:\(b.port),127.0.0.1:\(c.port)", "MQTT_USERNAME": name, "MQTT_PASSWORD_FILE": passwordFile.path,
                // Probes come in a burst after the failover: the broker's behaviour is measured, not the rate limit.
                "COMMAND_RATE_LIMIT": "0",
            ])
        try agent.start()
        do {
            try await waitForLog(agent, containing: "hatchling-agent: connected mqtt.broker=", timeout: 60)
            let victim = agent.log().contains("hatchling-agent: connected mqtt.broker=127.0.0.1:\(b.port)") ? b : c
            let survivor = victim.port == b.port ? c : b
            print("RABBITMQ-FAILOVER: agent connected to \(victim.name) (port \(victim.port)); the hub uses \(survivor.name)")
            let hub = try await TestHub.connect(
                port: survivor.port, topics: ["fleet/\(name)/response", "fleet/\(name)/status"], protocolVersion: .v311,
                username: "zephyr", password: hubUser.password)
            defer { hub.close() }
            // Through the survivor, the agent answers (its subscription may lag its connection: retry).
            var warm = false
            for attempt in 1...30 where !warm {
                try hub.publish("fleet/\(name)/command", #"{"command": "health-check", "id": "warmup-\#(attempt)"}"#)
                warm = (try? await hub.waitForResponse(on: "fleet/\(name)/response", "a first answer", timeout: 1) { _ in true }) != nil
            }
            try #require(warm, "the agent answers through \(survivor.name)")

            // On the cluster too, another hatchling's user can neither read this one's commands nor
            // write its topics (users and permissions are cluster-wide; checked on both nodes).
            let intruderPassword = try await nodes.addUser(["rabbit-intruder"], on: b)
            for node in [b, c] {
                let read = try await RabbitMQTests().mosquittoClient(
                    "mosquitto_sub", ["-t", "fleet/\(name)/command", "-W", "4"], port: node.port, user: "rabbit-intruder",
                    passwordFile: intruderPassword)
                // The broker closes the connection at the forbidden SUBSCRIBE (mosquitto_sub then
                // reports the lost connection); its log names the refusal.
                #expect(read.status != 0 && !read.output.contains("{"), "\(node.name): the intruder subscribed to \(name)'s commands: \(read)")
                #expect(
                    nodes.log(of: node).contains(
                        "access to topic 'fleet.\(name).command' in exchange 'amq.topic' in vhost '/' refused for user 'rabbit-intruder'"),
                    "\(node.name) refused the subscription")
                let forged = try await RabbitMQTests().mosquittoClient(
                    "mosquitto_pub", ["-t", "fleet/\(name)/status", "-m", "forged", "-q", "1"], port: node.port, user: "rabbit-intruder",
                    passwordFile: intruderPassword)
                #expect(forged.status != 0, "\(node.name): the intruder wrote \(name)'s status: \(forged)")
            }
            #expect(!hub.messages.contains { String(decoding: $0.payload, as: UTF8.self) == "forged" })

            // The agent's session queue has a synchronised mirror on the other node.
            try await waitForAsync("a synchronised mirror of the agent's session queue", timeout: 60) {
                let text =
                    (try? await nodes.rabbitmqctl(["-n", survivor.name, "-q", "list_queues", "name", "synchronised_slave_pids", "--no-table-headers"]))
                    ?? ""
                return text.split(separator: "\n").contains { $0.hasPrefix("mqtt-subscription-\(name)qos1") && $0.contains("<") }
            }
            // Retained messages are per node: a subscriber on the survivor has no status yet.
            let before = try await retainedStatus(name, port: survivor.port, password: hubUser.password, wait: 2)
            print("RABBITMQ-FAILOVER: retained status on \(survivor.name) before the kill: \(before.map { "\($0.state)" } ?? "none")")

            // Probes every 100 ms: 20 before the kill, then until 20 after the agent's reconnection.
            // Two watchers start at the kill: one for the answer to the first probe sent after it,
            // one polling a fresh subscriber on the survivor for a retained online status.
            var sent: [String] = []
            var killedAt: Date?
            var reconnectedAt: Date?
            var answerWatch: Task<Date?, Never>?
            var retainedWatch: Task<Date?, Never>?
            var probe = 0
            let testStart = Date()
            while true {
                probe += 1
                let id = "probe-\(probe)"
                try hub.publish("fleet/\(name)/command", #"{"command": "health-check", "id": "\#(id)"}"#)
                sent.append(id)
                if probe == 20 {
                    kill(victim.pid, SIGKILL)
                    let killed = Date()
                    killedAt = killed
                    answerWatch = Task {
                        _ = try? await hub.waitForResponse(on: "fleet/\(name)/response", "the first probe after the kill", timeout: 60) {
                            $0.id == "probe-21"
                        }
                        return hub.messages.contains { (try? FleetJSON.decode(CommandResponse.self, from: $0.payload))?.id == "probe-21" }
                            ? Date() : nil
                    }
                    retainedWatch = Task {
                        let killedTimestamp = FleetTimestamp(millisecondsSinceEpoch: Int64(killed.timeIntervalSince1970 * 1000))
                        while Date().timeIntervalSince(killed) < 60 {
                            if let status = try? await retainedStatus(name, port: survivor.port, password: hubUser.password, wait: 0.3),
                                status.state == .online, let ts = status.ts, ts >= killedTimestamp
                            {
                                return Date()
                            }
                        }
                        return nil
                    }
                }
                if killedAt != nil, reconnectedAt == nil,
                    agent.log().components(separatedBy: "hatchling-agent: connected mqtt.broker=").count - 1 >= 2
                {
                    reconnectedAt = Date()
                }
                if let reconnectedAt, Date().timeIntervalSince(reconnectedAt) >= 2, probe >= 60 { break }
                if Date().timeIntervalSince(testStart) > 120 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            _ = try #require(killedAt, "the node was killed")
            let answeredAt = await answerWatch?.value
            let retainedBackAt = await retainedWatch?.value
            // Every probe answered (a redelivery counts once).
            let expected = Set(sent)
            try? await waitFor("answers to all \(sent.count) probes", timeout: 60) {
                Set(hub.messages.compactMap { try? FleetJSON.decode(CommandResponse.self, from: $0.payload).id }).isSuperset(of: expected)
            }
            let responses = hub.messages.compactMap { try? FleetJSON.decode(CommandResponse.self, from: $0.payload) }.filter {
                $0.id?.hasPrefix("probe-") == true
            }
            let answered = Set(responses.compactMap(\.id)).intersection(expected)
            let okCount = Set(responses.filter(\.ok).compactMap(\.id)).intersection(expected).count

            // The agent's own view, from its log's timestamps: the drop and the reconnection.
            let lines = agent.log().split(separator: "\n").map(String.init)
            let reconnectLine = lines.last { $0.contains("hatchling-agent: connected mqtt.broker=") } ?? ""
            let dropLine = lines.first { $0.contains("disconnected mqtt.broker=") } ?? ""
            func logTime(_ line: String) -> Date? {
                guard let stamp = line.split(separator: " ").first,
                    let ts = try? FleetJSON.decode(FleetTimestamp.self, from: Array("\"\(stamp)\"".utf8))
                else { return nil }
                return Date(timeIntervalSince1970: Double(ts.millisecondsSinceEpoch) / 1000)
            }
            func seconds(_ date: Date?, from start: Date? = killedAt) -> String {
                guard let date, let start else { return "not seen" }
                return String(format: "%.2f s", date.timeIntervalSince(start))
            }
            let figures = """
                RABBITMQ-FAILOVER: probes sent \(sent.count) (20 before the kill, \(sent.count - 20) after, every 100 ms), answered \(answered.count), ok \(okCount), \
                answers received \(responses.count) (duplicates \(responses.count - answered.count)), lost \(expected.subtracting(answered).count)
                RABBITMQ-FAILOVER: kill -> agent notices the drop (its log): \(seconds(logTime(dropLine)))
                RABBITMQ-FAILOVER: kill -> agent connected to the survivor (its log): \(seconds(logTime(reconnectLine))); drop -> connected: \(seconds(logTime(reconnectLine), from: logTime(dropLine)))
                RABBITMQ-FAILOVER: kill -> answer to the first probe sent after the kill: \(seconds(answeredAt))
                RABBITMQ-FAILOVER: kill -> retained online status on \(survivor.name) (fresh subscribers, polled): \(seconds(retainedBackAt))
                RABBITMQ-FAILOVER: agent: \(reconnectLine)
                """
            print(figures)
            #expect(answered == expected, "lost probes: \(expected.subtracting(answered).sorted())")
            #expect(reconnectLine.contains("127.0.0.1:\(survivor.port)"), "the agent reconnected to the survivor")
            #expect(retainedBackAt != nil, "the retained online status is on the survivor")

            // fleetctl with the same host list, the dead node first: it moves on to the survivor.
            let env = nodes.fleetctlEnvironment(hosts: "127.0.0.1:\(victim.port),127.0.0.1:\(survivor.port)", passwordFile: hubUser.passwordFile)
            let send = try await Fleetctl.run(["send", name, "status-report", "--timeout", "15"], environment: env)
            #expect(send.status == 0, "fleetctl through the host list: \(send.stdout)\(send.stderr)")
        } catch {
            print("agent log:\n\(agent.log())")
            await agent.stop()
            throw error
        }
        await agent.stop()
    }

    /// The retained status a fresh subscriber on `port` gets within `wait` seconds, if any.
    func retainedStatus(_ name: String, port: Int, password: String, wait: Double) async throws -> StatusPayload? {
        let probe = try await TestHub.connect(
            port: port, topics: ["fleet/\(name)/status"], protocolVersion: .v311, username: "zephyr", password: password)
        defer { probe.close() }
        guard let message = try? await probe.waitForMessage("retained status", timeout: wait, where: { $0.retain }) else { return nil }
        return try? FleetJSON.decode(StatusPayload.self, from: message.payload)
    }
}

/// Polls an async condition with a deadline.
func waitForAsync(_ what: String, timeout: Double = 20, _ condition: () async -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while await !condition() {
        guard Date() < deadline else { throw TestError("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(200))
    }
}
