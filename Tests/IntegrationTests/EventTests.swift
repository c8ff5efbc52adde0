import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// `hatchling-agent publish` and `health` against a real agent on a real mosquitto that runs the
/// template's ACL: what reaches the hub, what is refused (and never reaches it), the rate limit,
/// and the answers when there is no agent or no broker.
@Suite("Events from the gateway over the local socket", .serialized)
struct EventTests {
    /// `hatchling-agent ARGUMENTS` with the agent's socket, to completion, off the cooperative pool.
    static func cli(_ agent: TestAgent, _ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await runProcessOffPool(
            try TestAgent.executable.path, arguments,
            environment: ["HATCHLING_AGENT_SOCKET": agent.socketPath, "PATH": "/usr/bin:/bin"])
    }

    static func events(_ hub: TestHub, _ name: String) -> [EventPayload] {
        hub.messages.filter { $0.topic == "fleet/\(name)/event" }.compactMap { EventPayload.parse($0.payload) }
    }

    @Test(
        "an event reaches the hub through the template ACL; every kind of refusal is answered with its code and exit status 1, and nothing refused reaches the bus"
    )
    func publishAndRefusals() async throws {
        try await SecurityTests().withACLBroker { broker, secrets in
            // No rate limit here (a secret takes a token; the limit has a test of its own).
            let env = [
                "MQTT_USERNAME": "mason", "MQTT_PASSWORD_FILE": secrets.appendingPathComponent("mason.pw").path,
                "FLEET_COMMAND_KEY": "mason-command-key-0123456789", "EVENT_RATE_LIMIT": "0",
            ]
            try await withAgent("mason", broker: broker, environment: env) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"], username: "zephyr", password: "zephyr-pw")
                defer { hub.close() }
                let online = try await hub.waitOnline("mason")

                let sent = try await Self.cli(agent, ["publish", "task-done", "--data", #"{"task": "nightly-backup", "duration_s": 42}"#])
                #expect(sent.status == 0, "publish: \(sent.stderr)")
                let message = try await hub.waitForMessage("the event") { $0.topic == "fleet/mason/event" }
                #expect(!message.retain, "an event is not retained")
                let event = try #require(EventPayload.parse(message.payload), "\(String(decoding: message.payload, as: UTF8.self))")
                #expect(event.event == "task-done")
                #expect(String(decoding: event.data, as: UTF8.self) == #"{"task":"nightly-backup","duration_s":42}"#, "compacted")
                #expect(event.seq == 1 && event.bootId == online.bootId && event.v == 1)
                #expect(EventPayload.problems(message.payload).isEmpty)

                // Refusals through the command line: (arguments, code).
                let refused: [([String], String)] = [
                    (["publish", "Task_Done"], "bad-name"),
                    (["publish", String(repeating: "a", count: 65)], "bad-name"),
                    (["publish", "big", "--data", #"{"blob":""# + String(repeating: "x", count: 2041) + #""}"#], "too-large"),
                    (["publish", "leak", "--data", #"{"note":"mason-pw"}"#], "secret"),
                    (["publish", "leak", "--data", #"{"k":"xmason-command-key-0123456789x"}"#], "secret"),
                    (["publish", "leak", "--data", #"{"k":"sk-proj-abcdefghijklmnopqrstuvwx"}"#], "secret"),
                    (["publish", "leak", "--data", #"{"k":"sk\u002dproj-abcdefghijklmnopqrstuvwx"}"#], "secret"),
                    (["publish", "leak", "--data", #"{"k":{"deep":["ghp_abcdefghijklmnopqrstuvwxyz0123"]}}"#], "secret"),
                    (["publish", "leak", "--data", #"{"k":"xoxb-1234567890-abcdef"}"#], "secret"),
                    (["publish", "leak", "--data", #"{"k":"AKIAABCDEFGHIJKLMNOP"}"#], "secret"),
                    (
                        ["publish", "leak", "--data", #"{"k":"-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn==\n-----END OPENSSH PRIVATE KEY-----"}"#],
                        "secret"
                    ),
                    (["publish", "leak", "--data", #"{"m\u0061son-pw":1}"#], "secret"),
                    (["publish", "leak", "--data", #"{"a":"MASON","b":"-PW"}"#], "secret"),
                    (["publish", "leak", "--data", #"{"status":"ok","status":"failed"}"#], "bad-data"),
                    (["publish", "leak", "--data", #"{"a":"\u202e"}"#], "bad-data"),
                    (["publish", "deep", "--data", String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)], "bad-data"),
                ]
                for (arguments, code) in refused {
                    let result = try await Self.cli(agent, arguments)
                    #expect(result.status == 1, "\(arguments.prefix(2)): \(result.status) \(result.stderr)")
                    #expect(result.stderr.contains("(\(code))"), "\(arguments.prefix(2)): \(result.stderr)")
                    #expect(!result.stderr.contains("mason-pw") && !result.stderr.contains("sk-proj"), "the refusal repeats the secret")
                }
                // Usage errors: exit 2, nothing asked.
                for arguments in [["publish"], ["publish", "x", "--data", "[1]"], ["publish", "x", "--data", "{"]] {
                    #expect(try await Self.cli(agent, arguments).status == 2, "\(arguments)")
                }
                // Refusals only the socket can be asked for: (request line, code).
                let raw: [(String, String)] = [
                    (#"{"v":1,"op":"publish","event":"x","data":[1]}"#, "bad-data"),
                    (#"{"v":1,"op":"publish","event":"x","data":{"a":01}}"#, "bad-request"),
                    (#"{"v":2,"op":"publish","event":"x"}"#, "unsupported-version"),
                    (#"{"v":1,"op":"exec","cmd":"id"}"#, "bad-request"),
                    (#"{"v":1,"op":"publish","op":"health"}"#, "bad-request"),
                    (#"{"v":1,"op":"publish","event":"x","topic":"fleet/rook/status"}"#, "bad-request"),
                    ("health-check", "bad-request"),
                    (#"{"v":1,"op":"publish","event":"x","data":{"a":""# + String(repeating: "y", count: 5000) + #""}}"#, "too-large"),
                ]
                for (line, code) in raw {
                    let answer = try localRequest(agent.socketPath, Array((line + "\n").utf8))
                    #expect(answer.contains(#""code":"\#(code)""#), "\(line.prefix(60)): \(answer)")
                    #expect(answer.contains(#""ok":false"#))
                }

                // A marker sent after every refusal arrives; the only events on the bus are the two good ones.
                #expect(try await Self.cli(agent, ["publish", "marker"]).status == 0)
                _ = try await hub.waitForMessage("the marker") {
                    $0.topic == "fleet/mason/event" && EventPayload.parse($0.payload)?.event == "marker"
                }
                let seen = hub.messages.filter { $0.topic == "fleet/mason/event" }
                #expect(seen.count == 2, "events on the bus: \(seen.map { String(decoding: $0.payload, as: UTF8.self) })")
                #expect(Self.events(hub, "mason").map(\.seq) == [1, 2])
                for message in hub.messages {
                    let text = String(decoding: message.payload, as: UTF8.self)
                    #expect(
                        !text.contains("mason-pw") && !text.contains("sk-proj") && !text.contains("AKIA") && !text.contains("PRIVATE KEY"),
                        "\(message.topic): \(text)")
                }
                // The refusals are logged (bounded, without the data), the agent is healthy.
                let log = agent.log()
                #expect(log.contains("local request refused") && log.contains("code=secret"))
                #expect(!log.contains("mason-pw") && !log.contains("sk-proj"), "the log repeats a secret")
                let health = try await Self.cli(agent, ["health"])
                #expect(health.status == 0, "health: \(health.stderr)")
                #expect(health.stdout.contains("mason: connected"))
            }
        }
    }

    @Test(
        "the rate limit holds: 10 at once, then EVENT_RATE_LIMIT a minute; a burst of connections gets answers or busy, never a hang; the agent stays healthy and answers the hub"
    )
    func rateLimitAndBurst() async throws {
        try await withBroker { broker in
            try await withAgent("mason", broker: broker, environment: ["EVENT_RATE_LIMIT": "1"]) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/mason/#"])
                defer { hub.close() }
                try await hub.waitOnline("mason")
                let started = Date()
                var statuses: [Int32] = []
                for index in 0..<16 {
                    let result = try await Self.cli(agent, ["publish", "burst", "--data", #"{"i":\#(index)}"#])
                    statuses.append(result.status)
                    if result.status == 1 { #expect(result.stderr.contains("(rate-limited)"), "\(result.stderr)") }
                }
                // One a minute: within a minute of the first, only the burst of 10 went out.
                if Date().timeIntervalSince(started) < 55 {
                    #expect(statuses.filter { $0 == 0 }.count == 10, "\(statuses)")
                    #expect(statuses.prefix(10).allSatisfy { $0 == 0 } && statuses.dropFirst(10).allSatisfy { $0 == 1 }, "\(statuses)")
                }
                try await waitFor("the 10 events on the bus", timeout: 20) { Self.events(hub, "mason").count >= 10 }

                // 40 connections at once, each sending a request: every one gets an answer line
                // (a refusal, or busy) or is turned away, none hangs.
                let answers = await withTaskGroup(of: String.self) { group in
                    for _ in 0..<40 {
                        group.addTask {
                            (try? await runOffPool {
                                try localRequest(agent.socketPath, Array(#"{"v":1,"op":"publish","event":"flood"}"#.utf8) + [0x0A])
                            }) ?? "error"
                        }
                    }
                    var all: [String] = []
                    for await answer in group { all.append(answer) }
                    return all
                }
                #expect(
                    answers.allSatisfy { $0.contains(#""code":"rate-limited""#) || $0.contains(#""code":"busy""#) || $0 == "error" }, "\(answers)")
                #expect(answers.contains { $0.contains("rate-limited") }, "\(answers)")
                // A client that connects and says nothing is let go, and the agent still answers.
                let silent = try connectLocal(agent.socketPath)
                defer { close(silent) }
                let health = try await Self.cli(agent, ["health", "--json"])
                #expect(health.status == 0, "\(health.stderr)")
                #expect(health.stdout.contains(#""connected":true"#) && health.stdout.contains(#""ok":true"#), "\(health.stdout)")
                try hub.publish("fleet/mason/command", #"{"command":"status-report","id":"after-burst"}"#)
                _ = try await hub.waitForResponse(on: "fleet/mason/response", "status-report after the burst") { $0.id == "after-burst" }
                #expect(Self.events(hub, "mason").count == 10, "only the burst's 10 reached the bus")
                #expect(childPIDs(of: agent.pid).count == 1, "the worker did not restart")
            }
        }
    }

    @Test(
        "no agent, a dead agent's socket, a silent socket, an agent without a broker: publish and health fail within seconds with exit 3 (health 1 when not connected) and say why"
    )
    func unavailable() async throws {
        let directory = try makeTemporaryDirectory(prefix: "no-agent")
        let missing = directory.appendingPathComponent("agent.sock").path
        let environment = ["HATCHLING_AGENT_SOCKET": missing, "PATH": "/usr/bin:/bin"]
        let agentBinary = try TestAgent.executable.path
        let none = try await runProcessOffPool(agentBinary, ["publish", "task-done"], environment: environment)
        #expect(none.status == 3 && none.stderr.contains("no agent") && none.stderr.contains("does not exist"), "\(none)")
        let noHealth = try await runProcessOffPool(agentBinary, ["health"], environment: environment)
        #expect(noHealth.status == 3 && noHealth.stderr.contains("no agent"), "\(noHealth)")

        // A socket nobody listens on any more (an agent killed with SIGKILL leaves one).
        let stale = try bindLocal(missing, listening: false)
        close(stale)
        let refused = try await runProcessOffPool(agentBinary, ["publish", "task-done"], environment: environment)
        #expect(refused.status == 3 && refused.stderr.contains("nothing answers"), "\(refused)")
        unlink(missing)

        // A socket that accepts and never answers: the client gives up on its own deadline.
        let silent = try bindLocal(missing, listening: true)
        defer {
            close(silent)
            unlink(missing)
        }
        let started = Date()
        let hung = try await runProcessOffPool(agentBinary, ["health"], environment: environment)
        #expect(hung.status == 3 && hung.stderr.contains("no answer"), "\(hung)")
        #expect(Date().timeIntervalSince(started) < 30, "health gave up in time")

        // An agent whose broker is not there: it answers at once that it is not connected.
        let port = try freePort()
        let agent = try TestAgent(name: "mason", broker: nil, environment: ["MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(port)])
        try agent.start()
        defer { Task { await agent.stop() } }
        try await waitFor("the agent's socket", timeout: 20) { FileManager.default.fileExists(atPath: agent.socketPath) }
        let offline = try await Self.cli(agent, ["publish", "task-done"])
        #expect(offline.status == 3 && offline.stderr.contains("(not-connected)"), "\(offline)")
        let unhealthy = try await Self.cli(agent, ["health"])
        #expect(unhealthy.status == 1 && unhealthy.stderr.contains("not connected"), "\(unhealthy)")
        await agent.stop()
        #expect(!FileManager.default.fileExists(atPath: agent.socketPath), "the agent removes its socket when it stops")
    }
}

/// A connected Unix stream socket to `path` (blocking).
func connectLocal(_ path: String) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket failed") }
    var address = unixAddress(path)
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard result == 0 else {
        close(fd)
        throw TestError("connect(\(path)): \(String(cString: strerror(errno)))")
    }
    return fd
}

/// Sends `bytes` to the agent's socket and returns its answer line (read for 15 s at most).
func localRequest(_ path: String, _ bytes: [UInt8]) throws -> String {
    let fd = try connectLocal(path)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 15, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 1024)
    while !received.contains(0x0A) {
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { break }
        received += buffer[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}

/// A Unix socket bound at `path`; listening (connections wait in the backlog, never accepted) or not.
func bindLocal(_ path: String, listening: Bool) throws -> Int32 {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    var address = unixAddress(path)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    guard fd >= 0, bound == 0 else { throw TestError("bind(\(path)): \(String(cString: strerror(errno)))") }
    if listening { listen(fd, 4) }
    return fd
}

func unixAddress(_ path: String) -> sockaddr_un {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        raw.copyBytes(from: bytes)
        raw[bytes.count] = 0
    }
    return address
}

/// Runs blocking work on a thread of its own, not on the cooperative pool.
func runOffPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
