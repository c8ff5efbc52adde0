import FleetProtocol
import MosquittoClient
import Testing

@testable import HatchlingAgent

@Suite("CommandDispatcher: answers")
struct CommandDispatcherTests {
    @Test("each command runs and is answered on the response topic, id and correlation data echoed")
    func eachCommand() async throws {
        let h = DispatcherHarness()
        for (index, command) in FleetCommand.allCases.enumerated() {
            let correlation: [UInt8] = [0xC0, UInt8(index)]
            await h.send(#"{"command": "\#(command.rawValue)", "id": "c-\#(index)"}"#, correlation: correlation)
            let message = try #require(h.publisher.messages.last)
            #expect(message.topic == "fleet/mason/response")
            #expect(message.qos == 1)
            #expect(message.retain == false)
            #expect(message.properties.correlationData == correlation)
            #expect(message.properties.messageExpiryInterval == nil)
            let response = try FleetJSON.decode(CommandResponse.self, from: message.payload)
            #expect(response.id == "c-\(index)")
            #expect(response.command == command.rawValue)
            #expect(response.hatchling.rawValue == "mason")
            #expect(response.ok, "\(String(describing: response.error))")
            #expect(response.ts == h.clock.wall)
        }
        #expect(h.handlers.commands == FleetCommand.allCases)
        #expect(h.publisher.messages.count == 4)
        #expect(h.counters.snapshot.commands == ["ok": 4])
    }

    @Test("a plain-text command gets a response without id")
    func plainText() async throws {
        let h = DispatcherHarness()
        await h.send("  version-report\n")
        let message = try #require(h.publisher.messages.first)
        let response = try FleetJSON.decode(CommandResponse.self, from: message.payload)
        #expect(response.id == nil)
        #expect(response.command == "version-report")
        #expect(response.ok)
        #expect(!String(decoding: message.payload, as: UTF8.self).contains(#""id""#))
        #expect(message.properties.correlationData == nil)
    }

    @Test("a broadcast command is answered on the agent's own response topic, whatever the payload names")
    func broadcast() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"command": "health-check", "id": "b-1", "response_topic": "fleet/other/command"}"#, topic: "zephyr/broadcast")
        #expect(h.publisher.messages.map(\.topic) == ["fleet/mason/response"])
        #expect(try h.lastResponse()?.id == "b-1")
    }

    @Test("duration_ms is the handler's time on the monotonic clock")
    func duration() async throws {
        let h = DispatcherHarness(workSeconds: 0.25)
        await h.send("health-check")
        #expect(try h.lastResponse()?.durationMs == 250)
    }

    @Test("counters by outcome")
    func countersByOutcome() async throws {
        let h = DispatcherHarness()
        await h.send("health-check")
        await h.send(#"{"command": "status-report", "id": "s-1"}"#)
        await h.send("{broken")
        await h.send("reboot")
        await h.send(bytes: [0xFF])
        let counters = h.counters.snapshot
        #expect(counters.commands == ["ok": 2, "malformed": 2, "unknown-command": 1])
        #expect(counters.dropped == 0)
        #expect(counters.duplicates == 0)
        #expect(h.publisher.messages.count == 5)
    }

    @Test("a publisher that throws: the response is dropped and counted")
    func publisherThrows() async throws {
        let h = DispatcherHarness()
        h.publisher.setFailing(true)
        await h.send("health-check")
        await h.send("reboot")
        let counters = h.counters.snapshot
        #expect(counters.dropped == 2)
        #expect(counters.lastError?.contains("response not published") == true)
        #expect(counters.commands == ["ok": 1, "unknown-command": 1])
        #expect(h.handlers.commands == [.healthCheck])
        h.publisher.setFailing(false)
        await h.send("health-check")
        #expect(h.publisher.messages.count == 1)
        #expect(h.counters.snapshot.dropped == 2)
    }
}

@Suite("CommandDispatcher: duplicates")
struct CommandDispatcherDuplicateTests {
    @Test("a copy of a command still running (a QoS 1 redelivery) does not run again; once answered, a copy gets the answer again")
    func duplicateWhileRunning() throws {
        let topics = FleetTopics(name: try HatchlingName(validating: "mason"))
        let settings = CommandSettings(topics: topics, rateLimit: 0, rateBurst: 1)
        let counters = CounterStore()
        var dispatcher = CommandDispatcher(settings: settings, counters: counters)
        let message = MQTTMessage(topic: topics.command, payload: Array(#"{"command":"health-check","id":"twice"}"#.utf8))
        guard case .run(let admitted, _) = dispatcher.decide(message, at: .now(), settings: settings) else {
            Issue.record("the first copy runs")
            return
        }
        guard case .drop = dispatcher.decide(message, at: .now(), settings: settings) else {
            Issue.record("a copy that comes while the first runs is dropped, not run")
            return
        }
        #expect(counters.snapshot.duplicates == 1)
        let outcome = CommandOutcome.version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil))
        guard case .reply(let answer, _) = dispatcher.complete(admitted, outcome: outcome, at: .now(), settings: settings) else {
            Issue.record("the first copy is answered")
            return
        }
        guard case .reply(let again, _) = dispatcher.decide(message, at: .now(), settings: settings) else {
            Issue.record("a copy after the answer gets it again")
            return
        }
        #expect(again.payload == answer.payload)
        #expect(counters.snapshot.duplicates == 2)
    }

    @Test("a duplicate id gets the identical earlier bytes and does not run again")
    func duplicate() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"command": "health-check", "id": "dup-1"}"#, correlation: [1])
        h.clock.advance(5)
        await h.send(#"{"command": "health-check", "id": "dup-1"}"#, correlation: [2])
        let messages = h.publisher.messages
        try #require(messages.count == 2)
        #expect(messages[1].payload == messages[0].payload, "the same bytes, even though time moved on")
        #expect(messages[1].properties.correlationData == [2], "correlation data is the redelivery's own")
        #expect(messages[1].topic == "fleet/mason/response")
        #expect(h.handlers.commands == [.healthCheck])
        #expect(h.counters.snapshot.duplicates == 1)
        #expect(h.counters.snapshot.commands == ["ok": 1])
    }

    @Test("the id decides: a different command with a recent id gets the earlier answer")
    func sameIDOtherCommand() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"command": "version-report", "id": "x-1"}"#)
        await h.send(#"{"command": "config-reload", "id": "x-1"}"#)
        #expect(h.handlers.commands == [.versionReport])
        #expect(try h.responses().map(\.command) == ["version-report", "version-report"])
    }

    @Test("after its lifetime an id runs again")
    func afterLifetime() async throws {
        let h = DispatcherHarness()
        await h.send(#"{"command": "health-check", "id": "old"}"#)
        h.clock.advance(RecentResponses().lifetime + 1)
        await h.send(#"{"command": "health-check", "id": "old"}"#)
        #expect(h.handlers.commands == [.healthCheck, .healthCheck])
        #expect(h.counters.snapshot.duplicates == 0)
    }

    @Test("rejections are not remembered: an id refused by the rate limit runs when sent again")
    func rejectionsNotRemembered() async throws {
        let h = DispatcherHarness(rateLimit: 1, rateBurst: 1)
        await h.send(#"{"command": "health-check", "id": "r-1"}"#)
        await h.send(#"{"command": "health-check", "id": "r-2"}"#)
        #expect(try h.lastResponse()?.error?.code == .rateLimited)
        h.clock.advance(1)
        await h.send(#"{"command": "health-check", "id": "r-2"}"#)
        let last = try #require(try h.lastResponse())
        #expect(last.ok)
        #expect(last.id == "r-2")
        #expect(h.handlers.commands == [.healthCheck, .healthCheck])
    }
}
