import FleetProtocol
import Foundation
import HatchlingSystem
import Synchronization
import Testing

@testable import HatchlingAgent

@Suite("The local socket's protocol, event checks and server limits")
struct LocalSocketTests {
    static func parse(_ text: String) -> Result<LocalProtocol.Request, LocalProtocol.Failure> {
        LocalProtocol.parse(Array(text.utf8)[...])
    }

    @Test("requests: each form, and the code of each refusal")
    func requests() {
        #expect(Self.parse(#"{"v":1,"op":"health"}"#) == .success(.health))
        #expect(
            Self.parse(#" { "op" : "publish" , "v" : 1 , "event" : "task-done" } "#) == .success(.publish(event: "task-done", data: Array("{}".utf8)))
        )
        #expect(
            Self.parse(#"{"v":1,"op":"publish","event":"x","data":{"a":[1,{"b":null}]}}"#)
                == .success(.publish(event: "x", data: Array(#"{"a":[1,{"b":null}]}"#.utf8))))
        #expect(
            Self.parse(#"{"v":1,"op":"publish","event":"t\u0061sk"}"#) == .success(.publish(event: "task", data: Array("{}".utf8))),
            "escapes are resolved")
        let refused: [(String, LocalProtocol.Code)] = [
            ("", .badRequest), ("health", .badRequest), ("[]", .badRequest), (#"{"v":1,"op":"health"} x"#, .badRequest),
            (#"{"op":"health"}"#, .badRequest), (#"{"v":"1","op":"health"}"#, .unsupportedVersion), (#"{"v":2,"op":"health"}"#, .unsupportedVersion),
            (#"{"v":1.0,"op":"health"}"#, .unsupportedVersion), (#"{"v":1}"#, .badRequest), (#"{"v":1,"op":1}"#, .badRequest),
            (#"{"v":1,"op":"health","x":1}"#, .badRequest), (#"{"v":1,"op":"run","command":"id"}"#, .badRequest),
            (#"{"v":1,"op":"publish"}"#, .badName), (#"{"v":1,"op":"publish","event":7}"#, .badName),
            (#"{"v":1,"op":"publish","event":"x","data":"{}"}"#, .badData), (#"{"v":1,"op":"publish","event":"x","data":null}"#, .badData),
            (#"{"v":1,"op":"publish","event":"x","retain":true}"#, .badRequest), (#"{"v":1,"v":1,"op":"health"}"#, .badRequest),
            (#"{"v":1,"op":"publish","event":"x","data":{"a":1,}}"#, .badRequest),
            (String(repeating: " ", count: 4096), .tooLarge),
        ]
        for (line, code) in refused {
            guard case .failure(let failure) = Self.parse(line) else {
                Issue.record("accepted: \(line.prefix(60))")
                continue
            }
            #expect(failure.code == code, "\(line.prefix(60)): \(failure)")
        }
    }

    @Test("a request and every answer survive encoding and parsing; exit statuses by code")
    func roundTrips() {
        for request in [LocalProtocol.Request.health, .publish(event: "backup-finished", data: Array(#"{"n":"\"q\" \u00e9"}"#.utf8))] {
            let line = LocalProtocol.encode(request)
            #expect(line.last == 0x0A && line.dropLast().allSatisfy { $0 != 0x0A })
            #expect(LocalProtocol.parse(line.dropLast()) == .success(request))
        }
        let answers: [LocalProtocol.Answer] =
            [
                .published(seq: 42),
                .health(LocalProtocol.Health(hatchling: "mason", connected: true, heartbeatAge: 1.25, heartbeatInterval: 30)),
                .health(LocalProtocol.Health(hatchling: "mason", connected: false, heartbeatAge: nil, heartbeatInterval: 30)),
            ] + LocalProtocol.Code.allCases.map { .failed(LocalProtocol.Failure($0, "why \"\($0.rawValue)\"\n")) }
        for answer in answers {
            let line = LocalProtocol.encode(answer)
            #expect(line.last == 0x0A && line.dropLast().allSatisfy { $0 != 0x0A })
            #expect(LocalProtocol.parseAnswer(line.dropLast()) == answer)
        }
        let refusals = LocalProtocol.Code.allCases.filter(\.isRefusal).map(\.rawValue).sorted()
        #expect(refusals == ["bad-data", "bad-name", "bad-request", "rate-limited", "secret", "too-large", "unsupported-version"])
    }

    @Test("health: connected and a heartbeat within two intervals (and 5 s)")
    func health() {
        #expect(LocalProtocol.Health(hatchling: "m", connected: true, heartbeatAge: 64.9, heartbeatInterval: 30).isHealthy)
        #expect(!LocalProtocol.Health(hatchling: "m", connected: true, heartbeatAge: 65.1, heartbeatInterval: 30).isHealthy)
        #expect(!LocalProtocol.Health(hatchling: "m", connected: true, heartbeatAge: nil, heartbeatInterval: 30).isHealthy)
        #expect(!LocalProtocol.Health(hatchling: "m", connected: false, heartbeatAge: 1, heartbeatInterval: 30).isHealthy)
    }

    @Test("the gate: name and data form first (free), then the connection, the rate, secrets; a secret takes a token; reloads change the rate")
    func gate() {
        var gate = EventGate(perMinute: 60)
        func check(_ event: String = "ok", _ data: String = "{}", connected: Bool = true, perMinute: Double = 60, at now: Double) -> LocalProtocol
            .Code?
        {
            let result = gate.check(
                event: event, data: Array(data.utf8), secrets: [Array("hunter2-password".utf8)], connected: connected, perMinute: perMinute, now: now)
            if case .failure(let failure) = result { return failure.code }
            return nil
        }
        // Malformed events, however many, take no token.
        for _ in 0..<50 {
            #expect(check("Bad", at: 0) == .badName)
            #expect(check("x", "[1]", at: 0) == .badData)
            #expect(check("x", #"{"a":1,"a":2}"#, at: 0) == .badData)
            #expect(check(connected: false, at: 0) == .notConnected)
        }
        // A secret takes one: ten guesses use up the burst.
        for _ in 0..<5 { #expect(check("x", #"{"p":"HUNTER2-password"}"#, at: 0) == .secret) }
        for _ in 0..<5 { #expect(check("ok", #"{"k":1}"#, at: 0) == nil) }
        #expect(check("x", #"{"p":"hunter2-password"}"#, at: 0) == .rateLimited, "no token left: the secret is not even looked at")
        #expect(check(at: 0.5) == .rateLimited)
        #expect(check(at: 1.01) == nil, "one a second at 60 a minute")
        #expect(check(at: 1.02) == .rateLimited)
        // A reload to 0 turns the limit off; back on at 6 a minute, the bucket is as it was, and
        // fills at the new rate: one token in 10 s.
        for _ in 0..<100 { #expect(check(perMinute: 0, at: 2) == nil) }
        #expect(check(perMinute: 6, at: 2) == .rateLimited)
        #expect(check(perMinute: 6, at: 12.1) == nil)
        #expect(check(perMinute: 6, at: 12.2) == .rateLimited)
        // What passes is compacted.
        var fresh = EventGate(perMinute: 60)
        let passed = fresh.check(event: "ok", data: Array("{ \"a\" : 1 }".utf8), secrets: [], connected: true, perMinute: 60, now: 0)
        #expect((try? passed.get()) == Array(#"{"a":1}"#.utf8))
    }

    /// A server on a socket of its own that answers health at once and publish never (the test
    /// answers by hand, or not at all).
    final class Harness: Sendable {
        let directory: URL
        let path: String
        let server: LocalSocketServer
        final class Pending: Sendable {
            let answers = Mutex<[@Sendable (LocalProtocol.Answer) -> Void]>([])
        }
        let pending = Pending()

        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("local-\(UUID().uuidString.prefix(8))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            path = directory.appendingPathComponent("agent.sock").path
            let pending = pending
            server = try LocalSocketServer(path: path) { request, _, answer in
                switch request {
                case .success(.health): answer(.health(LocalProtocol.Health(hatchling: "t", connected: true, heartbeatAge: 0, heartbeatInterval: 30)))
                case .success(.publish): pending.answers.withLock { $0.append(answer) }
                case .failure(let failure): answer(.failed(failure))
                }
            }
        }

        func connect() throws -> Int32 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = LocalSocketServer.address(path)
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else { throw LocalClient.Failure(description: "connect: \(errno)") }
            var timeout = timeval(tv_sec: 20, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return fd
        }

        func send(_ fd: Int32, _ text: String) {
            _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }

        /// Everything the server writes until it closes (or 20 s pass).
        func readAll(_ fd: Int32) -> String {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1024)
            while true {
                let count = read(fd, &buffer, buffer.count)
                guard count > 0 else { break }
                received += buffer[0..<count]
            }
            return String(decoding: received, as: UTF8.self)
        }

        func stop() {
            server.stop()
            try? FileManager.default.removeItem(at: directory)
        }
    }

    @Test(
        "the server: a client beyond its user's slots gets busy (root and the agent's user have slots of their own); a client that sends nothing is let go; a request over 4096 bytes is too-large; a pending answer ends in timeout; answers made later arrive; the socket is 0660 and removed on stop"
    )
    func serverLimits() async throws {
        let harness = try Harness()
        defer { harness.stop() }
        var info = stat()
        #expect(lstat(harness.path, &info) == 0 && info.st_mode & 0o777 == 0o660)

        // The test runs as root or as the agent's own user: the reserved slots. Clients waiting for
        // their publish answers hold every one.
        let slots = LocalSocketServer.reservedClients
        var waiting: [Int32] = []
        for _ in 0..<slots {
            let fd = try harness.connect()
            harness.send(fd, #"{"v":1,"op":"publish","event":"x"}"# + "\n")
            waiting.append(fd)
        }
        try await waitUntil { harness.pending.answers.withLock { $0.count } == slots }
        let extra = try harness.connect()
        #expect(harness.readAll(extra).contains(#""code":"busy""#))
        close(extra)
        // Answered later, from another thread: each arrives on its own connection, then it closes.
        let answers = harness.pending.answers.withLock { $0 }
        for (index, answer) in answers.enumerated() where index < slots - 1 { answer(.published(seq: UInt64(index + 1))) }
        for (index, fd) in waiting.enumerated() where index < slots - 1 {
            #expect(harness.readAll(fd) == #"{"ok":true,"seq":\#(index + 1),"v":1}"# + "\n")
            close(fd)
        }
        // The last never gets its answer from the handler: the server says timeout on its own.
        #expect(harness.readAll(waiting[slots - 1]).contains(#""code":"timeout""#))
        close(waiting[slots - 1])
        answers[slots - 1](.published(seq: 99))  // too late: dropped, no crash

        // A client that says nothing is closed after its deadline, without an answer.
        let silent = try harness.connect()
        #expect(harness.readAll(silent) == "")
        close(silent)
        // A line that never ends is cut at 4096 bytes.
        let flood = try harness.connect()
        harness.send(flood, String(repeating: "a", count: 5000))
        #expect(harness.readAll(flood).contains(#""code":"too-large""#))
        close(flood)
        // Two requests on one connection: one answer, then the connection closes.
        let twice = try harness.connect()
        harness.send(twice, #"{"v":1,"op":"health"}"# + "\n" + #"{"v":1,"op":"health"}"# + "\n")
        let both = harness.readAll(twice)
        #expect(both.components(separatedBy: "\n").filter { !$0.isEmpty }.count == 1, "\(both)")
        close(twice)

        harness.server.stop()
        #expect(lstat(harness.path, &info) != 0, "the socket is removed on stop")
    }

    @Test("the server refuses to replace a socket another process answers on, or anything that is not a socket; it replaces a stale one")
    func setup() throws {
        let harness = try Harness()
        defer { harness.stop() }
        #expect(throws: LocalSocketServer.SetupError.self) { try LocalSocketServer(path: harness.path) { _, _, _ in } }
        let file = harness.directory.appendingPathComponent("file").path
        FileManager.default.createFile(atPath: file, contents: Data("keep".utf8))
        #expect(throws: LocalSocketServer.SetupError.self) { try LocalSocketServer(path: file) { _, _, _ in } }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep")
        // A stale socket: bound, never listening (what a killed agent leaves).
        let stalePath = harness.directory.appendingPathComponent("stale.sock").path
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = LocalSocketServer.address(stalePath)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        let replacing = try LocalSocketServer(path: stalePath) { _, _, answer in answer(.published(seq: 1)) }
        defer { replacing.stop() }
        guard case .success(.published(seq: 1)) = LocalClient.ask(.publish(event: "x", data: Array("{}".utf8)), socket: stalePath, within: 20) else {
            Issue.record("no answer from the server that replaced the stale socket")
            return
        }
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while !condition() {
            guard Date() < deadline else { throw LocalClient.Failure(description: "timed out") }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
