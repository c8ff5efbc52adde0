import FleetProtocol
import FleetSigning
import Testing

@testable import HatchlingAgent

@Suite("Dispatcher with a command key")
struct SignedCommandDispatchTests {
    let key = CommandKey("0123456789abcdef0123456789abcdef")!

    func signed(_ h: DispatcherHarness, command: String = "status-report", id: String, ts: FleetTimestamp? = nil) -> String {
        let ts = (ts ?? h.clock.wall).description
        let sig = CommandSignature.sign(key: key, name: "mason", id: id, command: command, ts: ts, expiresAt: nil)
        return #"{"command":"\#(command)","id":"\#(id)","ts":"\#(ts)","sig":"\#(sig)"}"#
    }

    @Test("a valid signature runs; unsigned, wrong, stale and plain-text commands are unauthorized and run nothing")
    func cases() async throws {
        let h = DispatcherHarness(commandKey: key)
        await h.send(signed(h, id: "ok-1"))
        #expect(try h.lastResponse()?.ok == true)
        #expect(h.handlers.commands == [.statusReport])

        await h.send(#"{"command":"status-report","id":"u-1"}"#)
        await h.send(signed(h, id: "w-1").replacingOccurrences(of: "\"sig\":\"", with: "\"sig\":\"00"))
        await h.send(signed(h, id: "s-1", ts: h.clock.wall.adding(seconds: -301)))
        await h.send("health-check")
        await h.send("reboot")
        let refused = try h.responses().suffix(5)
        #expect(refused.allSatisfy { $0.error?.code == .unauthorized }, "\(refused.map { $0.error?.code.rawValue ?? "ok" })")
        #expect(refused.first?.error?.message.contains("sig") == true)
        #expect(h.handlers.commands == [.statusReport], "nothing else ran")
        #expect(h.counters.snapshot.commands["unauthorized"] == 5)
    }

    @Test("a replayed signed message gets the earlier response and runs nothing; an unsigned request cannot fetch it by id")
    func replay() async throws {
        let h = DispatcherHarness(commandKey: key)
        let message = signed(h, id: "r-1")
        await h.send(message)
        await h.send(#"{"command":"status-report","id":"r-1"}"#)
        #expect(try h.lastResponse()?.error?.code == .unauthorized)
        h.clock.advance(60)
        await h.send(message)
        let payloads = h.publisher.messages.map(\.payload)
        #expect(payloads.count == 3)
        #expect(payloads[2] == payloads[0], "the replay gets the first answer byte for byte")
        #expect(h.handlers.commands == [.statusReport])
        #expect(h.counters.snapshot.duplicates == 1)
    }

    @Test("a key set by a reload applies to the next command")
    func rotation() async throws {
        let h = DispatcherHarness()
        await h.send("version-report")
        #expect(try h.lastResponse()?.ok == true)
        h.settings.commandKey = key
        await h.send("version-report")
        #expect(try h.lastResponse()?.error?.code == .unauthorized)
    }
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
