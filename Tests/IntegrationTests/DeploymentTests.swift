import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// template/ without Docker: the real entrypoint under the real tini, with a stand-in `openclaw`
/// (Fixtures/fake-openclaw) and the built agent on PATH; and the Dockerfiles read as text.
@Suite("Deployment template", .serialized)
struct DeploymentTests {
    /// Tests/IntegrationTests/DeploymentTests.swift -> the package root.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let template = root.appendingPathComponent("template")

    @Test(
        "entrypoint under tini: online, gateway healthy, version found, config rendered, a killed worker is back with a new boot id, SIGTERM announces shutdown and ends everything"
    )
    func entrypointUnderTini() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(
                to: broker, topics: ["fleet/kestrel/status", "fleet/kestrel/heartbeat", "fleet/kestrel/response"])
            defer { hub.close() }
            let hatchling = try Hatchling(name: "kestrel", broker: broker)
            do {
                let first = try await hub.waitOnline("kestrel")
                let tree = try await hatchling.tree()

                let beat = try await hub.waitForMessage("a heartbeat that sees the gateway") { message in
                    message.topic == "fleet/kestrel/heartbeat" && (try? FleetJSON.decode(Heartbeat.self, from: message.payload))?.gateway.ok == true
                }
                #expect(try FleetJSON.decode(Heartbeat.self, from: beat.payload).gateway.httpStatus == 200)

                try hub.publish("fleet/kestrel/command", #"{"command": "version-report", "id": "deploy-v1"}"#)
                let answer = try await hub.waitForResponse(on: "fleet/kestrel/response", "version-report") { $0.id == "deploy-v1" }
                guard case .version(let report) = answer.outcome else { throw TestError("version-report failed: \(answer)") }
                // An openclaw installed on this machine would be found first (its package.json).
                let installed = [
                    "/usr/local/lib/node_modules/openclaw/package.json", "/usr/lib/node_modules/openclaw/package.json", "/opt/openclaw/package.json",
                ]
                .contains { FileManager.default.fileExists(atPath: $0) }
                if installed { #expect(report.openclaw != nil) } else { #expect(report.openclaw == "2026.1.5") }

                let rendered = try String(contentsOf: hatchling.configDirectory.appendingPathComponent("openclaw.json"), encoding: .utf8)
                #expect(rendered.contains("\"port\": \(hatchling.gatewayPort)"), "rendered: \(rendered)")
                #expect(!rendered.contains("${"))

                // Crash recovery: SIGKILL the worker; the supervisor (a child of the entrypoint) starts another.
                let worker = try #require(childPIDs(of: tree.agent).first, "the supervisor runs a worker")
                kill(worker, SIGKILL)
                let known = first.bootId
                let back = try await hub.waitForMessage("online again with a new boot id", timeout: 10) { message in
                    guard message.topic == "fleet/kestrel/status", let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload)
                    else { return false }
                    return status.state == .online && status.bootId != known
                }
                let second = try FleetJSON.decode(StatusPayload.self, from: back.payload).bootId
                let newWorker = try #require(childPIDs(of: tree.agent).first)
                #expect(newWorker != worker)
                for pid in [hatchling.process.pid, tree.shell, tree.agent] {
                    #expect(zombieChildren(of: pid).isEmpty, "no zombie under \(pid)")
                }

                // Container stop: SIGTERM to tini. The agent announces shutdown before tini exits.
                hatchling.process.signal(SIGTERM)
                let status = await hatchling.process.waitForExit(seconds: 10)
                #expect(status == 0, "tini exits 0 within 10 s of SIGTERM:\n\(hatchling.log())")
                let offline = try await hub.waitForMessage("shutdown announced", timeout: 5) { message in
                    message.topic == "fleet/kestrel/status" && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .shutdown
                }
                #expect(try FleetJSON.decode(StatusPayload.self, from: offline.payload).bootId == second)
                try await Task.sleep(for: .milliseconds(500))
                let lost = hub.messages.filter { message in
                    guard let status = try? FleetJSON.decode(StatusPayload.self, from: message.payload) else { return false }
                    return status.reason == .lost && status.bootId == second
                }
                #expect(lost.isEmpty, "the last run ended cleanly, not by its Last Will")
                for pid in [tree.shell, tree.agent, tree.gateway, newWorker] {
                    #expect(deploymentProcessGone(pid), "process \(pid) has exited")
                }
            } catch {
                print(hatchling.log())
                await hatchling.stopAll()
                throw error
            }
            await hatchling.stopAll()
        }
    }

    @Test("a gateway that exits on its own: the entrypoint stops the agent (shutdown announced) and exits with the gateway's status")
    func gatewayExitStopsAgent() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/plover/status"])
            defer { hub.close() }
            let hatchling = try Hatchling(name: "plover", broker: broker)
            do {
                try await hub.waitOnline("plover")
                let tree = try await hatchling.tree()
                // Serving means its SIGTERM handler is installed: the fake gateway then exits 0 on SIGTERM.
                try await waitForPort(hatchling.gatewayPort, deadline: 20)
                kill(tree.gateway, SIGTERM)
                let status = await hatchling.process.waitForExit(seconds: 10)
                #expect(status == 0, "tini exits with the gateway's status:\n\(hatchling.log())")
                _ = try await hub.waitForMessage("shutdown announced", timeout: 5) { message in
                    (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .shutdown
                }
                #expect(deploymentProcessGone(tree.agent))
                #expect(hatchling.log().contains("gateway exited on its own"))
            } catch {
                print(hatchling.log())
                await hatchling.stopAll()
                throw error
            }
            await hatchling.stopAll()
        }
    }

    @Test(
        "the entrypoint runs its arguments instead of the gateway (as the gateway's user, no API key, no doctor, no rendering), with the agent beside; SIGTERM ends both with shutdown announced; `openclaw gateway` given explicitly is the gateway on GATEWAY_PORT"
    )
    func runsItsArguments() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/kite/#"])
            defer { hub.close() }
            let script = #"echo "custom command as uid $(id -u)"; trap 'echo custom got TERM; exit 7' TERM; while :; do sleep 0.1; done"#
            let hatchling = try Hatchling(name: "kite", broker: broker, apiKey: false, command: ["/bin/sh", "-c", script])
            do {
                try await hub.waitOnline("kite")
                try await waitFor("the command's first line", timeout: 20) { hatchling.log().contains("custom command as uid") }
                let log = hatchling.log()
                let expectedUID = getuid() == 0 ? hatchling.users.gateway.uid : getuid()
                #expect(log.contains("custom command as uid \(expectedUID)"), "\(log)")
                #expect(log.contains("command started") && !log.contains("gateway started"), "\(log)")
                #expect(!log.contains("ANTHROPIC_API_KEY") && !log.contains("from its template"), "\(log)")
                let calls = (try? String(contentsOf: hatchling.agent.directory.appendingPathComponent("openclaw-calls.log"), encoding: .utf8)) ?? ""
                #expect(!calls.contains("doctor") && !calls.contains("gateway"), "openclaw was run: \(calls)")
                hatchling.process.signal(SIGTERM)
                let status = await hatchling.process.waitForExit(seconds: 15)
                #expect(status == 7, "the exit status is the command's: \(hatchling.log())")
                _ = try await hub.waitForMessage("shutdown announced", timeout: 10) { message in
                    message.topic == "fleet/kite/status" && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .shutdown
                }
            } catch {
                print(hatchling.log())
                await hatchling.stopAll()
                throw error
            }
            await hatchling.stopAll()

            // `openclaw gateway` spelled out is the gateway: API key checked, port from GATEWAY_PORT.
            let gateway = try Hatchling(name: "kite", broker: broker, apiKey: false, command: ["openclaw", "gateway"])
            let refused = await gateway.process.waitForExit(seconds: 20)
            #expect(refused == 1 && gateway.log().contains("ANTHROPIC_API_KEY"), "\(gateway.log())")
            await gateway.stopAll()
            let explicit = try Hatchling(name: "kite", broker: broker, command: ["openclaw", "gateway"])
            try await waitForPort(explicit.gatewayPort, deadline: 20)
            #expect(explicit.log().contains("gateway started"), "\(explicit.log())")
            let explicitCalls =
                (try? String(contentsOf: explicit.agent.directory.appendingPathComponent("openclaw-calls.log"), encoding: .utf8)) ?? ""
            #expect(explicitCalls.contains("called gateway --port \(explicit.gatewayPort)"), "\(explicitCalls)")
            await explicit.stopAll()
        }
    }

    @Test(
        "LOG_FORMAT=json and logfmt: every line of the entrypoint and the agent (supervisor and worker) parses, with ts, level and msg",
        arguments: ["json", "logfmt"])
    func logFormats(_ format: String) async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/tern/#"])
            defer { hub.close() }
            let hatchling = try Hatchling(name: "tern", broker: broker, environment: ["LOG_FORMAT": format])
            do {
                try await hub.waitOnline("tern")
                try await waitFor("the agent's connected line", timeout: 20) { hatchling.log().contains("connected") }
                hatchling.process.signal(SIGTERM)
                _ = await hatchling.process.waitForExit(seconds: 15)
            } catch {
                await hatchling.stopAll()
                throw error
            }
            await hatchling.stopAll()
            // The fake gateway writes lines of its own; ours are every line naming our loggers.
            let ours = hatchling.log().split(separator: "\n").filter { $0.contains("entrypoint") || $0.contains("hatchling-agent") }
            #expect(ours.count >= 5, "\(hatchling.log())")
            for line in ours {
                if format == "json" {
                    let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                    #expect(object?["ts"] is String && object?["level"] is String && object?["msg"] is String, "not a JSON log line: \(line)")
                } else {
                    #expect(line.hasPrefix("ts=") && line.contains(" level=") && line.contains(" msg="), "not a logfmt line: \(line)")
                }
            }
            #expect(ours.contains { $0.contains("entrypoint") } && ours.contains { $0.contains("connected") })
        }
    }

    @Test("the entrypoint refuses to start without an API key, and says which variables")
    func refusesWithoutAPIKey() async throws {
        let hatchling = try Hatchling(name: "shrike", broker: nil, apiKey: false)
        let status = await hatchling.process.waitForExit(seconds: 10)
        #expect(status == 1)
        #expect(hatchling.log().contains("ANTHROPIC_API_KEY"))
        #expect(!FileManager.default.fileExists(atPath: hatchling.configDirectory.appendingPathComponent("openclaw.json").path))
        await hatchling.stopAll()
    }

    @Test(
        "started as root: the gateway runs as its user, the agent as another; the agent's secrets are its own (0400); the gateway cannot read them, signal the agent, read its environment or write its configuration, and has none of its variables; SIGTERM still announces shutdown",
        .enabled(if: getuid() == 0, "needs root: makes users with useradd, runs setpriv"))
    func privilegeSeparation() async throws {
        let secrets = try makeTemporaryDirectory(prefix: "entrypoint-secrets")
        // TLS with client certificates, so that MQTT_TLS_KEY is one of the agent's secrets too
        // (openssl writes it root-owned 0600: only the entrypoint's chown lets the agent read it).
        let pki = try TestPKI()
        let client = try pki.issue("heron")
        // The hub's certificate names zephyr: the broker runs the template's ACL.
        let hubCertificate = try pki.issue("zephyr")
        let tlsKey = URL(fileURLWithPath: client.key)
        // Readable by everyone before the entrypoint runs: it must tighten them itself.
        let password = secrets.appendingPathComponent("mqtt-password")
        let key = secrets.appendingPathComponent("command-key")
        let config = secrets.appendingPathComponent("hatchling-agent.env")
        try "heron-broker-pw\n".write(to: password, atomically: true, encoding: .utf8)
        try "\(SignedAndIsolationTests.keyText)\n".write(to: key, atomically: true, encoding: .utf8)
        try "LOG_LEVEL=debug\n".write(to: config, atomically: true, encoding: .utf8)
        for file in [password, key, config] { chmod(file.path, 0o666) }
        try await TLSTests().withTLSBroker(pki, serverSAN: "IP:127.0.0.1") { broker in
            let hub = try await TestHub.connect(
                to: broker, topics: ["fleet/heron/#"],
                tls: MQTTTLSOptions(caFile: pki.caFile, certFile: hubCertificate.cert, keyFile: hubCertificate.key))
            defer { hub.close() }
            let hatchling = try Hatchling(
                name: "heron", broker: broker,
                environment: [
                    "MQTT_USERNAME": "heron", "MQTT_PASSWORD_FILE": password.path, "FLEET_COMMAND_KEY_FILE": key.path,
                    "HATCHLING_AGENT_CONFIG": config.path, "OPENAI_API_KEY": "test-openai-placeholder",
                    "TELEGRAM_BOT_TOKEN": "test-telegram-placeholder",
                    "MQTT_TLS_CA": pki.caFile, "MQTT_TLS_CERT": client.cert, "MQTT_TLS_KEY": client.key,
                ])
            let gateway = hatchling.users.gateway
            let agentUser = hatchling.users.agent
            do {
                try await hub.waitOnline("heron")
                let tree = try await hatchling.tree()
                let worker = try #require(childPIDs(of: tree.agent).first, "the supervisor runs a worker")

                // Who runs as whom (real and effective ids).
                #expect(processUIDs(tree.shell).allSatisfy { $0 == 0 }, "the entrypoint's shell stays root, to route signals")
                #expect(
                    !processUIDs(tree.gateway).isEmpty && processUIDs(tree.gateway).allSatisfy { $0 == gateway.uid },
                    "gateway: \(processUIDs(tree.gateway))")
                for pid in [tree.agent, worker] {
                    #expect(!processUIDs(pid).isEmpty && processUIDs(pid).allSatisfy { $0 == agentUser.uid }, "agent \(pid): \(processUIDs(pid))")
                }

                // The secret files: the agent's, 0400; the configuration the agent's, not writable by others.
                for (file, mode) in [(password, 0o400), (key, 0o400), (tlsKey, 0o400), (config, 0o600)] {
                    let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
                    #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == agentUser.uid, "\(file.lastPathComponent) owner")
                    #expect(attributes[.posixPermissions] as? Int == mode, "\(file.lastPathComponent) mode")
                }

                // As the gateway's user: nothing of the agent's. As the agent's user (the control): its own secret.
                let cat = try which("cat")
                #expect(try TestUsers.run(as: agentUser, cat, [password.path]).status == 0, "the agent's user reads its password")
                for file in [password, key, tlsKey, config] {
                    let read = try TestUsers.run(as: gateway, cat, [file.path])
                    #expect(read.status != 0, "the gateway's user read \(file.lastPathComponent): \(read.stdout)")
                }
                let write = try TestUsers.run(as: gateway, "/bin/sh", ["-c", "echo MQTT_HOST=evil.example >> \"$1\"", "sh", config.path])
                #expect(write.status != 0, "the gateway's user appended to the agent's configuration")
                #expect(try TestUsers.run(as: gateway, "/bin/sh", ["-c", "test -w \"$1\"", "sh", config.path]).status != 0)
                for pid in [tree.agent, worker] {
                    let signal = try TestUsers.run(as: gateway, "/bin/sh", ["-c", "kill -0 \(pid)"])
                    #expect(signal.status != 0, "the gateway's user may signal the agent (\(pid))")
                    let environ = try TestUsers.run(as: gateway, cat, ["/proc/\(pid)/environ"])
                    #expect(environ.status != 0 && !environ.stdout.contains("MQTT"), "the gateway's user read /proc/\(pid)/environ")
                }
                // The control: the gateway's user may signal (kill -0) its own gateway.
                #expect(try TestUsers.run(as: gateway, "/bin/sh", ["-c", "kill -0 \(tree.gateway)"]).status == 0)

                // Environments: the gateway has none of the agent's variables, the agent no API key.
                let gatewayNames = processEnvironmentNames(tree.gateway)
                #expect(gatewayNames.contains("GATEWAY_PORT"), "read the gateway's environment: \(gatewayNames.sorted())")
                for name in [
                    "MQTT_PASSWORD_FILE", "FLEET_COMMAND_KEY_FILE", "MQTT_TLS_KEY", "MQTT_USERNAME", "MQTT_HOST", "MQTT_PORT",
                    "HATCHLING_AGENT_CONFIG",
                ] {
                    #expect(!gatewayNames.contains(name), "the gateway has \(name)")
                }
                let agentNames = processEnvironmentNames(tree.agent)
                #expect(agentNames.contains("MQTT_PASSWORD_FILE"))
                #expect(!agentNames.contains("ANTHROPIC_API_KEY") && !agentNames.contains("OPENAI_API_KEY"), "the agent has an API key")
                #expect(processEnvironmentNames(worker).isDisjoint(with: ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]))
                // An allow-list, not a deny-list: the gateway's other secrets stay with it.
                #expect(!agentNames.contains("TELEGRAM_BOT_TOKEN") && gatewayNames.contains("TELEGRAM_BOT_TOKEN"), "\(agentNames.sorted())")
                // The agent works from /, not from the gateway's folder.
                for pid in [tree.agent, worker] {
                    #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == "/")
                }
                #expect(!hatchling.log().contains("warning: started as uid"))

                // The local socket: the gateway's user publishes an event (no bus credentials
                // needed) and asks for health; the folder is the agent's, the gateway's group, 2710;
                // another user cannot reach it.
                let socket = hatchling.agent.socketPath
                let folder = try FileManager.default.attributesOfItem(atPath: (socket as NSString).deletingLastPathComponent)
                #expect((folder[.ownerAccountID] as? NSNumber)?.uint32Value == agentUser.uid)
                #expect((folder[.groupOwnerAccountID] as? NSNumber)?.uint32Value == gateway.gid)
                #expect(folder[.posixPermissions] as? Int == 0o2710, "socket folder mode \(String(folder[.posixPermissions] as? Int ?? 0, radix: 8))")
                try await waitFor("the agent's socket", timeout: 20) { FileManager.default.fileExists(atPath: socket) }
                let agentBinary = try TestAgent.executable.path
                func asUser(_ uid: UInt32, _ gid: UInt32, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
                    try runProcess(
                        try which("setpriv"), ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--", agentBinary] + arguments,
                        environment: ["PATH": "/usr/bin:/bin", "HATCHLING_AGENT_SOCKET": socket])
                }
                let published = try asUser(gateway.uid, gateway.gid, ["publish", "backup-finished", "--data", #"{"bytes":1024}"#])
                #expect(published.status == 0, "the gateway's user publishes: \(published.stderr)")
                let event = try await hub.waitForMessage("the gateway's event", timeout: 20) { $0.topic == "fleet/heron/event" }
                #expect(EventPayload.parse(event.payload)?.event == "backup-finished")
                #expect(try asUser(gateway.uid, gateway.gid, ["health"]).status == 0)
                let leak = try asUser(gateway.uid, gateway.gid, ["publish", "leak", "--data", #"{"k":"heron-broker-pw"}"#])
                #expect(leak.status == 1 && leak.stderr.contains("(secret)"), "the agent's own password is refused: \(leak.stderr)")
                let stranger = try asUser(65534, 65534, ["publish", "intruder"])
                #expect(stranger.status == 3 && stranger.stderr.contains("not allowed"), "another user reached the socket: \(stranger)")
                #expect(
                    try TestUsers.run(as: gateway, "/bin/sh", ["-c", "rm -f \"$1\" || exit 1; test ! -e \"$1\"", "sh", socket]).status != 0,
                    "the gateway's user removed the socket")
                // The gateway holds every slot it can with silent connections, reopening each as
                // soon as it is dropped: root's health check still gets through (slots of its own).
                let hogScript = """
                    import select, socket, sys, time
                    def opened():
                        s = socket.socket(socket.AF_UNIX)
                        s.connect(sys.argv[1])
                        return s
                    held = [opened() for _ in range(12)]
                    print("holding", flush=True)
                    end = time.time() + 6
                    while time.time() < end:
                        readable, _, _ = select.select(held, [], [], 0.05)
                        for s in readable:
                            s.close()
                            held.remove(s)
                            held.append(opened())
                    """
                let hogLog = hatchling.agent.directory.appendingPathComponent("hog.log")
                let hog = try ChildProcess(
                    executable: try which("setpriv"),
                    arguments: [
                        "--reuid=\(gateway.uid)", "--regid=\(gateway.gid)", "--clear-groups", "--", try systemPython(), "-c", hogScript, socket,
                    ],
                    environment: ["PATH": "/usr/bin:/bin"], outputPath: hogLog.path)
                try await waitFor("the gateway's connections", timeout: 20) {
                    (try? String(contentsOf: hogLog, encoding: .utf8))?.contains("holding") == true
                }
                for _ in 0..<3 {
                    let health = try runProcess(agentBinary, ["health"], environment: ["PATH": "/usr/bin:/bin", "HATCHLING_AGENT_SOCKET": socket])
                    #expect(health.status == 0, "root's health check while the gateway holds its slots: \(health.stderr)")
                }
                await hog.terminate(signal: SIGKILL, grace: 5)

                // The rest holds: the agent answers, and SIGTERM to tini ends with `shutdown` announced.
                try hub.publish("fleet/heron/command", "health-check")
                _ = try await hub.waitForResponse(on: "fleet/heron/response", "an answer", timeout: 20)
                // Serving means its SIGTERM handler is installed: the fake gateway then exits 0 on SIGTERM.
                try await waitForPort(hatchling.gatewayPort, deadline: 20)
                hatchling.process.signal(SIGTERM)
                let status = await hatchling.process.waitForExit(seconds: 10)
                #expect(status == 0, "tini exits 0 within 10 s of SIGTERM:\n\(hatchling.log())")
                _ = try await hub.waitForMessage("shutdown announced", timeout: 10) { message in
                    message.topic == "fleet/heron/status" && (try? FleetJSON.decode(StatusPayload.self, from: message.payload))?.reason == .shutdown
                }
                for pid in [tree.shell, tree.agent, tree.gateway, worker] {
                    #expect(deploymentProcessGone(pid), "process \(pid) has exited")
                }
            } catch {
                print(hatchling.log())
                await hatchling.stopAll()
                throw error
            }
            await hatchling.stopAll()
        }
    }

    @Test(
        "started as root with an agent file within the gateway's reach (a link in its folder; its own folder with the write bit off): the entrypoint refuses to start, and chowns nothing",
        .enabled(if: getuid() == 0, "needs root: makes users with useradd, runs setpriv"))
    func agentFileInGatewayFolder() async throws {
        // 1. What a compromised gateway could plant in its own folder: a link to a file of root's.
        let victimDirectory = try makeTemporaryDirectory(prefix: "victim")
        let victim = victimDirectory.appendingPathComponent("victim")
        try "root's file\n".write(to: victim, atomically: true, encoding: .utf8)
        chmod(victim.path, 0o644)
        // 2. A folder of the gateway's with its write bit off: the gateway can turn it back on later,
        // swap the file, and read the agent's password from the broker connection it points it to.
        // 3. A file that does not exist yet, in a folder of the gateway's: it could create it and
        // have the agent read it at a reload. Refused as missing.
        // 4. A relative path (the agent runs from /); 5. a TLS CA file in the gateway's folder (it
        // would choose which broker the agent trusts).
        // 6. A root-owned link whose target passes through a link in the gateway's folder (the
        // gateway could repoint it later); 7. a folder where a file is expected.
        for (name, kind) in [
            ("egret", "link"), ("ibis", "read-only folder"), ("stork", "missing"), ("crane", "relative"), ("heron", "tls-ca"),
            ("rail", "link-through"), ("snipe", "folder"),
        ] {
            let planted = kind == "link"
            let users = try TestUsers()
            let directory = try makeTemporaryDirectory(prefix: "gateway-owned")
            let file = directory.appendingPathComponent("hatchling-agent.env")
            if planted {
                try FileManager.default.createSymbolicLink(atPath: file.path, withDestinationPath: victim.path)
            } else if kind != "missing" {
                try "LOG_LEVEL=info\n".write(to: file, atomically: true, encoding: .utf8)
            }
            guard chown(directory.path, users.gateway.uid, users.gateway.gid) == 0 else {
                users.remove()
                throw TestError("chown failed")
            }
            if kind == "read-only folder" { chmod(directory.path, 0o555) }
            let variable = kind == "tls-ca" ? "MQTT_TLS_CA" : "HATCHLING_AGENT_CONFIG"
            var value = kind == "relative" ? "relative/hatchling-agent.env" : file.path
            if kind == "link-through" {
                let real = try makeTemporaryDirectory(prefix: "root-real")
                try "LOG_LEVEL=info\n".write(to: real.appendingPathComponent("agent.env"), atomically: true, encoding: .utf8)
                let hop = directory.appendingPathComponent("hop")
                try FileManager.default.createSymbolicLink(atPath: hop.path, withDestinationPath: real.path)
                #expect(lchown(hop.path, users.gateway.uid, users.gateway.gid) == 0)
                let rootSide = try makeTemporaryDirectory(prefix: "root-side")
                let entry = rootSide.appendingPathComponent("agent.env")
                try FileManager.default.createSymbolicLink(atPath: entry.path, withDestinationPath: hop.appendingPathComponent("agent.env").path)
                value = entry.path
            }
            if kind == "folder" { value = try makeTemporaryDirectory(prefix: "root-folder").path }
            let hatchling = try Hatchling(
                name: name, broker: nil, environment: [variable: value, "MQTT_PORT": String(try freePort())], users: users)
            let status = await hatchling.process.waitForExit(seconds: 20)
            let log = hatchling.log()
            await hatchling.stopAll()
            #expect(status == 1, "\(log)")
            #expect(log.contains("refusing to start: \(variable)"), "\(log)")
            let reason =
                ["missing": "does not exist", "relative": "is not an absolute path", "folder": "is not a regular file"][kind]
                ?? "the gateway could replace it"
            #expect(log.contains(reason), "\(kind): \(log)")
            #expect(!log.contains("gateway started") && !log.contains("hatchling-agent started"), "\(log)")
            if kind == "read-only folder" {
                let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
                #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == 0, "the file in the gateway's folder was chowned")
            }
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: victim.path)
        #expect((attributes[.ownerAccountID] as? NSNumber)?.uint32Value == 0, "root's file was given away through the link")
        #expect(attributes[.posixPermissions] as? Int == 0o644)
    }

    @Test(
        "started as root with HATCHLING_AGENT_SOCKET in a folder others use (/, a sticky folder, a folder with other files, a link, a file at the socket's name): the entrypoint refuses to start and changes nothing",
        .enabled(if: getuid() == 0, "needs root: makes users with useradd, runs setpriv"))
    func socketFolderOfItsOwn() async throws {
        let sticky = try makeTemporaryDirectory(prefix: "sticky")
        chmod(sticky.path, 0o1777)
        let crowded = try makeTemporaryDirectory(prefix: "crowded")
        try "someone else's\n".write(to: crowded.appendingPathComponent("notes"), atomically: true, encoding: .utf8)
        let linked = try makeTemporaryDirectory(prefix: "linked")
        try FileManager.default.createSymbolicLink(atPath: linked.appendingPathComponent("run").path, withDestinationPath: crowded.path)
        let squatted = try makeTemporaryDirectory(prefix: "squatted")
        try "not a socket\n".write(to: squatted.appendingPathComponent("agent.sock"), atomically: true, encoding: .utf8)
        let cases: [(String, URL?)] = [
            ("/agent.sock", nil), (sticky.appendingPathComponent("agent.sock").path, sticky),
            (crowded.appendingPathComponent("agent.sock").path, crowded),
            (linked.appendingPathComponent("run/agent.sock").path, crowded), (squatted.appendingPathComponent("agent.sock").path, squatted),
        ]
        for (socket, folder) in cases {
            let before = try folder.map { try FileManager.default.attributesOfItem(atPath: $0.path) }
            let rootBefore = try FileManager.default.attributesOfItem(atPath: "/")
            let hatchling = try Hatchling(
                name: "wren", broker: nil, environment: ["HATCHLING_AGENT_SOCKET": socket, "MQTT_PORT": String(try freePort())])
            let status = await hatchling.process.waitForExit(seconds: 20)
            let log = hatchling.log()
            await hatchling.stopAll()
            #expect(status == 1, "\(socket): \(log)")
            #expect(log.contains("refusing to start: ") && log.contains("HATCHLING_AGENT_SOCKET"), "\(socket): \(log)")
            #expect(!log.contains("hatchling-agent started"), "\(log)")
            if let folder, let before {
                let after = try FileManager.default.attributesOfItem(atPath: folder.path)
                #expect(after[.ownerAccountID] as? NSNumber == before[.ownerAccountID] as? NSNumber, "\(socket): the folder was chowned")
                #expect(after[.posixPermissions] as? Int == before[.posixPermissions] as? Int, "\(socket): the folder's mode changed")
            }
            let rootAfter = try FileManager.default.attributesOfItem(atPath: "/")
            #expect(rootAfter[.posixPermissions] as? Int == rootBefore[.posixPermissions] as? Int && rootAfter[.ownerAccountID] as? NSNumber == 0)
        }
    }

    @Test(
        "started as another user (docker run --user): both run as that user, and one warning says why that is weaker",
        .enabled(if: getuid() == 0, "needs root: makes users with useradd, runs setpriv"))
    func nonRootWarns() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/tern/status"])
            defer { hub.close() }
            let hatchling = try Hatchling(name: "tern", broker: broker, asGateway: true)
            do {
                try await hub.waitOnline("tern")
                let tree = try await hatchling.tree()
                let uid = hatchling.users.gateway.uid
                for pid in [tree.shell, tree.agent, tree.gateway] {
                    #expect(!processUIDs(pid).isEmpty && processUIDs(pid).allSatisfy { $0 == uid }, "\(pid): \(processUIDs(pid))")
                }
                let warnings = hatchling.log().split(separator: "\n").filter { $0.contains("warning: started as uid \(uid), not root") }
                #expect(warnings.count == 1, "\(hatchling.log())")
                #expect(warnings.first?.contains("the gateway can read the agent's secrets") == true)
                try await waitForPort(hatchling.gatewayPort, deadline: 20)
                hatchling.process.signal(SIGTERM)
                #expect(await hatchling.process.waitForExit(seconds: 10) == 0, "\(hatchling.log())")
            } catch {
                print(hatchling.log())
                await hatchling.stopAll()
                throw error
            }
            await hatchling.stopAll()
        }
    }

    @Test("the Dockerfiles agree: COPY sources exist, the agent binary and entrypoint paths match, tini runs the entrypoint, no cron")
    func dockerfilesAgree() throws {
        let image = try DockerfileText(Self.template.appendingPathComponent("Dockerfile"))
        let agentBuild = try DockerfileText(Self.root.appendingPathComponent("Dockerfile.agent"))
        let ignored = try String(contentsOf: Self.root.appendingPathComponent(".dockerignore"), encoding: .utf8)
            .split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        for (file, context, ignore) in [(image, Self.template, [String]()), (agentBuild, Self.root, ignored)] {
            for copy in try file.copies() where copy.from == nil {
                for source in copy.sources {
                    #expect(
                        FileManager.default.fileExists(atPath: context.appendingPathComponent(source).path),
                        "\(file.name): COPY \(source): not in its build context")
                    let excluded = ignore.contains(where: { source == $0 || source.hasPrefix($0 + "/") })
                    #expect(!excluded, "\(file.name): COPY \(source) is excluded by .dockerignore")
                }
            }
        }

        // The agent: template/Dockerfile copies what Dockerfile.agent's final stage holds.
        let imageCopies = try image.copies()
        let fromAgent = try #require(imageCopies.first(where: { $0.from == "agent" }), "template/Dockerfile copies from the stage `agent`")
        #expect(fromAgent.destination == "/usr/local/bin/hatchling-agent")
        let finalStage = try agentBuild.copies(inLastStageOnly: true)
        let binary = try #require(finalStage.first(where: { $0.from == "build" && $0.destination.hasSuffix("hatchling-agent") }))
        #expect(
            fromAgent.sources == [binary.destination],
            "template/Dockerfile copies \(fromAgent.sources), Dockerfile.agent puts it at \(binary.destination)")
        let binarySource = try #require(binary.sources.first)
        let output = URL(fileURLWithPath: binarySource).deletingLastPathComponent().path
        let builds = agentBuild.instructions.contains(where: { $0.keyword == "RUN" && $0.arguments.contains("scripts/build-static.sh \(output)") })
        #expect(builds, "Dockerfile.agent runs scripts/build-static.sh \(output)")

        // PID 1 is tini, which runs the entrypoint where the image put it.
        let entrypoint = try #require(image.instructions.last(where: { $0.keyword == "ENTRYPOINT" }))
        let words = try JSONDecoder().decode([String].self, from: Data(entrypoint.arguments.utf8))
        #expect(words.first == "tini" || words.first?.hasSuffix("/tini") == true)
        #expect(words.contains("-g") && words.contains("--"))
        let script = try #require(imageCopies.first(where: { $0.sources == ["entrypoint.sh"] }))
        #expect(words.last == script.destination)

        // The image starts as root (the entrypoint drops privileges) and has both of the entrypoint's users.
        #expect(!image.instructions.contains { $0.keyword == "USER" }, "template/Dockerfile must not set USER: the entrypoint drops privileges")
        let runs = image.instructions.filter { $0.keyword == "RUN" }.map(\.arguments).joined(separator: "\n")
        #expect(runs.contains("--uid 1001 --gid 1001") && runs.contains("openclaw"))
        #expect(runs.contains("--uid 1002 --gid 1002") && runs.contains("fleet-agent"))
        let entrypointText = try String(contentsOf: Self.template.appendingPathComponent("entrypoint.sh"), encoding: .utf8)
        #expect(
            entrypointText.contains("GATEWAY_USER=\"${GATEWAY_USER:-openclaw}\"")
                && entrypointText.contains("AGENT_USER=\"${AGENT_USER:-fleet-agent}\""))

        let compose = try String(contentsOf: Self.template.appendingPathComponent("docker-compose.yml"), encoding: .utf8)
        #expect(compose.contains("agent: docker-image://hatchling-agent-build") && compose.contains("image: hatchling-agent-build"))
        for file in ["template/Dockerfile", "Dockerfile.agent", "template/entrypoint.sh", "template/docker-compose.yml"] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.lowercased().contains("cron")
            {
                Issue.record("\(file):\(number + 1) mentions cron: \(line)")
            }
        }
    }

    @Test(
        "reproducible images: one Debian release (an ARG before FROM) in every FROM of both Dockerfiles, IMAGE_VERSION after the apt-get and npm layers, modes by COPY --chmod, USER by number"
    )
    func dockerfilesReproducible() throws {
        let files = [
            try DockerfileText(Self.template.appendingPathComponent("Dockerfile")),
            try DockerfileText(Self.root.appendingPathComponent("Dockerfile.agent")),
        ]
        var releases: [String: String] = [:]
        for file in files {
            let instructions = file.instructions
            let firstFrom = try #require(instructions.firstIndex(where: { $0.keyword == "FROM" }), "\(file.name): no FROM")
            let release = instructions[..<firstFrom].first { $0.keyword == "ARG" && $0.arguments.hasPrefix("DEBIAN_RELEASE=") }
            let value = try #require(release, "\(file.name): no ARG DEBIAN_RELEASE=... before the first FROM").arguments.dropFirst(
                "DEBIAN_RELEASE=".count)
            releases[file.name] = String(value)
            #expect(!value.isEmpty && value.allSatisfy({ $0.isLowercase }), "\(file.name): DEBIAN_RELEASE=\(value) is not a Debian code name")
            for from in instructions where from.keyword == "FROM" {
                let image = from.arguments.split(separator: " ").first.map(String.init) ?? ""
                #expect(image.contains("${DEBIAN_RELEASE}"), "\(file.name): FROM \(from.arguments) does not name the release through DEBIAN_RELEASE")
                #expect(!image.contains("latest"), "\(file.name): FROM \(from.arguments) floats")
            }
            // Per release: declared after every heavy layer, so that a new version rebuilds none of them.
            let heavy = instructions.lastIndex { $0.keyword == "RUN" && ($0.arguments.contains("apt-get") || $0.arguments.contains("npm ")) }
            if let version = instructions.firstIndex(where: { $0.keyword == "ARG" && $0.arguments.hasPrefix("IMAGE_VERSION") }) {
                #expect(heavy.map { $0 < version } ?? true, "\(file.name): ARG IMAGE_VERSION comes before an apt-get or npm layer")
            }
            for run in instructions where run.keyword == "RUN" {
                #expect(!run.arguments.hasPrefix("chmod"), "\(file.name): RUN \(run.arguments): set the mode with COPY --chmod")
            }
            for user in instructions where user.keyword == "USER" {
                #expect(
                    user.arguments.split(separator: ":").allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) },
                    "\(file.name): USER \(user.arguments) is not a number")
            }
        }
        #expect(Set(releases.values).count == 1, "both Dockerfiles must name one Debian release: \(releases)")
        // The template's image declares IMAGE_VERSION (for version-report); its programs get their mode from COPY.
        let image = files[0].instructions
        #expect(image.contains { $0.keyword == "ARG" && $0.arguments.hasPrefix("IMAGE_VERSION") })
        for copy in try files[0].copies() where copy.destination.hasPrefix("/usr/local/bin/") {
            let instruction = image.first { $0.keyword == "COPY" && $0.arguments.hasSuffix(copy.destination) }
            #expect(instruction?.arguments.contains("--chmod=0755") == true, "template/Dockerfile: COPY to \(copy.destination) without --chmod=0755")
        }
    }

    @Test("template/.env.example names every setting of `hatchling-agent --help`, and the entrypoint's")
    func envExampleIsComplete() throws {
        let help = try runAgentCommand(["--help"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(help.status == 0)
        let settings = help.stdout.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
            let word = line.dropFirst(2).prefix(while: { $0.isUppercase || $0.isNumber || $0 == "_" })
            let rest = line.dropFirst(2 + word.count)
            guard word.count >= 3, word.contains("_"), rest.isEmpty || rest.first == " " else { return nil }
            return String(word)
        }
        #expect(settings.count >= 20, "settings read from --help: \(settings)")
        let example = try String(contentsOf: Self.template.appendingPathComponent(".env.example"), encoding: .utf8)
        let named = Set(
            example.split(separator: "\n").compactMap { line -> String? in
                var text = line.trimmingCharacters(in: .whitespaces)
                if text.hasPrefix("#") { text = text.dropFirst().trimmingCharacters(in: .whitespaces) }
                guard let equals = text.firstIndex(of: "=") else { return nil }
                let key = String(text[..<equals])
                let isName = !key.isEmpty && key.allSatisfy({ $0.isUppercase || $0.isNumber || $0 == "_" })
                return isName ? key : nil
            })
        for name in settings + [
            "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CONFIG_DIR", "GATEWAY_PORT", "OPENCLAW_SKIP_API_KEY_CHECK", "GATEWAY_USER", "AGENT_USER",
        ] {
            #expect(named.contains(name), "template/.env.example does not name \(name)")
        }
    }
}

/// template/entrypoint.sh started as the image starts it, `tini -s -g -- entrypoint.sh`, with the
/// fake openclaw and a `hatchling-agent` link to the built agent first on PATH.
/// (-s: outside a container tini is not PID 1; as a subreaper it reaps orphans as it would be.)
/// Started as root (as the image starts it), the entrypoint runs the gateway and the agent as two
/// users: `users`, made by the test for this run (GATEWAY_USER, AGENT_USER) and removed by stopAll.
/// `asGateway` starts tini itself as the gateway's user, as `docker run --user` would. A test
/// run that is not root makes no users: the entrypoint then runs both as the test's user.
private struct Hatchling {
    let agent: TestAgent
    let process: ChildProcess
    let configDirectory: URL
    let gatewayPort: Int
    let testUsers: TestUsers?
    /// The users (tests that need them run as root only).
    var users: TestUsers { testUsers! }

    init(
        name: String, broker: TestBroker?, apiKey: Bool = true, environment extra: [String: String] = [:], asGateway: Bool = false,
        users given: TestUsers? = nil, command: [String] = []
    ) throws {
        let users = getuid() == 0 ? try given ?? TestUsers() : nil
        do {
            try self.init(name: name, broker: broker, apiKey: apiKey, users: users, environment: extra, asGateway: asGateway, command: command)
        } catch {
            users?.remove()
            throw error
        }
    }

    private init(
        name: String, broker: TestBroker?, apiKey: Bool, users: TestUsers?, environment extra: [String: String], asGateway: Bool, command: [String]
    ) throws {
        let agent = try TestAgent(name: name, broker: broker, environment: ["HEARTBEAT_INTERVAL": "1"])
        let bin = agent.directory.appendingPathComponent("bin")
        let configDirectory = agent.directory.appendingPathComponent("openclaw-config")
        for directory in [bin, configDirectory] { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        // The fake, run by this machine's python3 (not a shim that depends on HOME).
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/fake-openclaw")
        let script = try String(contentsOf: fixture, encoding: .utf8)
        let python = try systemPython()
        let openclaw = bin.appendingPathComponent("openclaw")
        try ("#!\(python)" + String(script.drop(while: { $0 != "\n" }))).write(to: openclaw, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: openclaw.path)
        let agentPath = try TestAgent.executable.path
        try FileManager.default.createSymbolicLink(atPath: bin.appendingPathComponent("hatchling-agent").path, withDestinationPath: agentPath)
        try FileManager.default.copyItem(
            at: DeploymentTests.template.appendingPathComponent("openclaw.json.template"),
            to: configDirectory.appendingPathComponent("openclaw.json.template"))

        // The gateway's user writes its configuration folder and the fake's log, as in the image.
        let calls = try touch(agent.directory.appendingPathComponent("openclaw-calls.log"))
        for url in [configDirectory, calls] {
            guard let users else { break }
            guard chown(url.path, users.gateway.uid, users.gateway.gid) == 0 else { throw TestError("chown \(url.path) failed") }
        }
        chmod(calls.path, 0o666)  // the agent's user runs `openclaw --version` too (the fake notes every call)

        let port = try freePort()
        var environment = agent.environment
        environment["PATH"] = bin.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["CONFIG_DIR"] = configDirectory.path
        environment["GATEWAY_PORT"] = String(port)
        environment["GATEWAY_HEALTH_URL"] = "http://127.0.0.1:\(port)/health"
        environment["FAKE_OPENCLAW_LOG"] = calls.path
        if apiKey { environment["ANTHROPIC_API_KEY"] = "test-placeholder" }
        if broker == nil { environment["MQTT_HOST"] = "127.0.0.1" }
        environment.merge(users?.environment ?? [:]) { $1 }
        environment.merge(extra) { $1 }
        let entrypoint = DeploymentTests.template.appendingPathComponent("entrypoint.sh")
        let tini = try which("tini")
        let arguments = ["-s", "-g", "--", "/bin/sh", entrypoint.path] + command
        if asGateway, let users {
            self.process = try ChildProcess(
                executable: try which("setpriv"),
                arguments: ["--reuid=\(users.gateway.uid)", "--regid=\(users.gateway.gid)", "--clear-groups", "--", tini] + arguments,
                environment: environment, outputPath: agent.logURL.path)
        } else {
            self.process = try ChildProcess(executable: tini, arguments: arguments, environment: environment, outputPath: agent.logURL.path)
        }
        self.agent = agent
        self.configDirectory = configDirectory
        self.gatewayPort = port
        self.testUsers = users
    }

    /// tini -> the entrypoint's shell -> the agent's supervisor and the gateway.
    func tree() async throws -> (shell: pid_t, agent: pid_t, gateway: pid_t) {
        var found: (shell: pid_t, agent: pid_t, gateway: pid_t)? = nil
        try await waitFor("the entrypoint's shell with the agent and the gateway as its children", timeout: 10) {
            guard let shell = childPIDs(of: process.pid).first else { return false }
            let children = childPIDs(of: shell)
            // By their arguments, not by text: the temporary folders' names hold "hatchling-agent" too.
            guard let agent = children.first(where: { deploymentArguments(of: $0).first?.hasSuffix("hatchling-agent") == true }),
                let gateway = children.first(where: { deploymentArguments(of: $0).contains("gateway") })
            else { return false }
            found = (shell, agent, gateway)
            return true
        }
        return try #require(found)
    }

    func log() -> String { agent.log() }

    /// Ends whatever is left, by pid: tini, then (they have sessions of their own) its descendants.
    func stopAll() async {
        let left = descendants(of: process.pid)
        await process.terminate(signal: SIGTERM, grace: 10)
        for pid in left.reversed() where !deploymentProcessGone(pid) { kill(pid, SIGKILL) }
        for pid in left where !deploymentProcessGone(pid) {
            try? await waitFor("process \(pid) gone before its user is removed", timeout: 10) { deploymentProcessGone(pid) }
        }
        testUsers?.remove()
    }
}

/// A Dockerfile's instructions (continuation lines joined, comments dropped), for static checks.
private struct DockerfileText {
    struct Instruction { var keyword: String, arguments: String }
    struct Copy { var from: String?, sources: [String], destination: String }

    let name: String
    let instructions: [Instruction]

    init(_ url: URL) throws {
        name = url.lastPathComponent
        var result: [Instruction] = []
        var pending = ""
        for raw in try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("#") || (line.isEmpty && pending.isEmpty) { continue }
            if line.hasSuffix("\\") {
                pending += String(line.dropLast()) + " "
                continue
            }
            pending += line
            let parts = pending.split(separator: " ", maxSplits: 1)
            if let keyword = parts.first {
                result.append(
                    Instruction(keyword: keyword.uppercased(), arguments: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""))
            }
            pending = ""
        }
        instructions = result
    }

    /// Every COPY (of the last stage only, if asked): `--from`, sources and destination.
    func copies(inLastStageOnly: Bool = false) throws -> [Copy] {
        let start = inLastStageOnly ? (instructions.lastIndex(where: { $0.keyword == "FROM" }) ?? 0) : 0
        return try instructions[start...].filter { $0.keyword == "COPY" }.map { instruction -> Copy in
            var tokens = instruction.arguments.split(separator: " ").map(String.init)
            var from: String? = nil
            while let flag = tokens.first, flag.hasPrefix("--") {
                if flag.hasPrefix("--from=") { from = String(flag.dropFirst("--from=".count)) }
                tokens.removeFirst()
            }
            let rest = tokens.joined(separator: " ")
            let words = try rest.hasPrefix("[") ? JSONDecoder().decode([String].self, from: Data(rest.utf8)) : tokens
            guard let destination = words.last, words.count >= 2 else { throw TestError("\(name): COPY \(rest): no source") }
            return Copy(from: from, sources: Array(words.dropLast()), destination: destination)
        }
    }
}

/// A process's arguments, from /proc/<pid>/cmdline (empty once it has exited).
private func deploymentArguments(of pid: pid_t) -> [String] {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
    return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
}

/// Gone for good: not even a zombie waiting to be reaped.
private func deploymentProcessGone(_ pid: pid_t) -> Bool {
    kill(pid, 0) != 0 && errno == ESRCH
}
