import FleetProtocol
import Testing

@testable import HatchlingAgent

@Suite("CommandDispatcher: rejections")
struct CommandDispatcherRejectionTests {
    func expectRejected(
        _ h: DispatcherHarness, _ code: FleetErrorCode, id: String? = nil, command: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let response = try #require(try h.lastResponse(), sourceLocation: sourceLocation)
        #expect(!response.ok, sourceLocation: sourceLocation)
        #expect(response.error?.code == code, sourceLocation: sourceLocation)
        #expect(response.id == id, sourceLocation: sourceLocation)
        #expect(response.command == command, sourceLocation: sourceLocation)
        #expect(h.publisher.messages.last?.topic == "fleet/mason/response", sourceLocation: sourceLocation)
        #expect(h.handlers.commands.isEmpty, "nothing runs", sourceLocation: sourceLocation)
    }

    @Test("malformed, with the id when it could be read")
    func malformed() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"id": "m-1", "command": 7}"#, correlation: [9])
        try expectRejected(h, .malformed, id: "m-1")
        #expect(h.publisher.messages.last?.properties.correlationData == [9])
        await h.send("")
        try expectRejected(h, .malformed)
    }

    @Test("unknown-command, with the word echoed")
    func unknownCommand() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"command": "reboot", "id": "u-1"}"#)
        try expectRejected(h, .unknownCommand, id: "u-1", command: "reboot")
        #expect(try h.lastResponse()?.error?.message.contains("'reboot'") == true)
    }

    @Test("too-large, without reading the id")
    func tooLarge() async throws {
        let h = DispatcherHarness()
        let big = #"{"command": "health-check", "id": "t-1", "pad": ""# + String(repeating: "x", count: 5000) + #""}"#
        await h.send(big)
        try expectRejected(h, .tooLarge)
    }

    @Test("expired: expires_at before the wall clock at delivery")
    func expired() async throws {
        let h = DispatcherHarness()
        h.clock.advance(3600)  // 06:00 on the contract's morning
        await h.send(#"{"command": "health-check", "id": "e-1", "expires_at": "2026-11-29T05:05:00Z"}"#)
        try expectRejected(h, .expired, id: "e-1", command: "health-check")
        #expect(h.counters.snapshot.expired == 1)
        #expect(h.counters.snapshot.commands == ["expired": 1])
    }

    @Test("not yet expired: runs")
    func notExpired() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"command": "health-check", "id": "e-2", "expires_at": "2026-11-29T05:05:00Z"}"#)
        #expect(try h.lastResponse()?.ok == true)
        #expect(h.handlers.commands == [.healthCheck])
        #expect(h.counters.snapshot.expired == 0)
    }

    @Test("rate-limited: rate 1 burst 2 admits two at once, then one a second")
    func rateLimited() async throws {
        let h = DispatcherHarness(rateLimit: 1, rateBurst: 2)
        await h.send(#"{"command": "health-check", "id": "a"}"#)
        await h.send(#"{"command": "health-check", "id": "b"}"#)
        await h.send(#"{"command": "version-report", "id": "c"}"#)
        let third = try #require(try h.lastResponse())
        #expect(third.error?.code == .rateLimited)
        #expect(third.id == "c")
        #expect(third.command == "version-report")
        #expect(h.handlers.commands == [.healthCheck, .healthCheck])
        h.clock.advance(0.5)
        await h.send(#"{"command": "health-check", "id": "d"}"#)
        #expect(try h.lastResponse()?.error?.code == .rateLimited)
        h.clock.advance(0.5)
        await h.send(#"{"command": "health-check", "id": "e"}"#)
        #expect(try h.lastResponse()?.ok == true)
        #expect(h.counters.snapshot.commands == ["ok": 3, "rate-limited": 2])
    }

    @Test("new limits in the settings apply to the next command; rate 0 turns the limit off")
    func setRateLimit() async throws {
        let h = DispatcherHarness(rateLimit: 1, rateBurst: 1)
        h.settings.rateLimit = 0
        for i in 0..<30 { await h.send(#"{"command": "health-check", "id": "n-\#(i)"}"#) }
        #expect(h.handlers.commands.count == 30)
        let responses = try h.responses()
        #expect(responses.count == 30)
        #expect(responses.allSatisfy { $0.ok })
    }

    @Test("error responses beyond their cap are dropped and counted")
    func errorCap() async throws {
        let h = DispatcherHarness()
        let flood = CommandDispatcher.errorResponseBurst + 5
        for _ in 0..<flood { await h.send("{broken") }
        #expect(h.publisher.messages.count == CommandDispatcher.errorResponseBurst)
        let counters = h.counters.snapshot
        #expect(counters.dropped == 5)
        #expect(counters.commands == ["malformed": flood])
        // Good commands are not held back by the error cap.
        await h.send("health-check")
        #expect(try h.lastResponse()?.ok == true)
        // The cap refills with time.
        h.clock.advance(1)
        await h.send("{broken")
        #expect(try h.lastResponse()?.error?.code == .malformed)
        #expect(h.counters.snapshot.dropped == 5)
    }
}
