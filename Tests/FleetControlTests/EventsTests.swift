import FleetControl
import FleetProtocol
import Foundation
import MosquittoClient
import Testing

@Suite("Events: reading, lines, bounds")
struct EventsTests {
    static let bootId = "0123456789abcdef0123456789abcdef"

    static func event(_ name: String = "task-done", data: String = #"{"k":"v"}"#, seq: UInt64 = 7) -> String {
        #"{"boot_id":"\#(bootId)","data":\#(data),"event":"\#(name)","seq":\#(seq),"ts":"2026-12-03T10:00:00+01:00","v":1}"#
    }

    func read(_ topic: String, _ text: String, retain: Bool = false) -> FleetEvent.Reading {
        FleetEvent.read(Fixture.text(topic, text, retain: retain), root: "fleet")
    }

    @Test("an event on its topic is read with the topic's hatchling; other topics are not events")
    func reading() throws {
        let event = try #require(read("fleet/mason/event", Self.event()).event)
        #expect(event.hatchling == "mason" && event.payload.event == "task-done" && event.payload.seq == 7)
        #expect(read("fleet/mason/status", Self.event()) == .other)
        #expect(read("fleet/mason/event/more", Self.event()) == .other)
        #expect(read("other/mason/event", Self.event()) == .other)
    }

    @Test("malformed: off the contract, retained, or on a topic that names no hatchling")
    func malformed() {
        guard case .malformed(let topic, let problem) = read("fleet/mason/event", #"{"v":1,"event":"x"}"#) else {
            Issue.record("read as an event")
            return
        }
        #expect(topic == "fleet/mason/event" && problem.contains("data is missing") && problem.contains("seq must be"))
        #expect(
            read("fleet/mason/event", Self.event(), retain: true)
                == .malformed(
                    topic: "fleet/mason/event", problem: "retained by the broker (events are never retained)"))
        #expect(read("fleet/-bad/event", Self.event()) == .malformed(topic: "fleet/-bad/event", problem: "the topic does not name a hatchling"))
        #expect(read("fleet/mason/event", "") != .other)
    }

    @Test("the text line: ts in UTC, name, event, seq, data without white space; hostile characters become '?'")
    func line() throws {
        let plain = try #require(read("fleet/mason/event", Self.event(data: "{ \"k\" :\n \"v\" }")).event)
        #expect(plain.line == #"2026-12-03T09:00:00.000Z  mason  task-done  seq=7  {"k":"v"}"#)
        let spaced = try #require(read("fleet/mason/event", Self.event(data: #"{"spaced":"a  b","n":"é"}"#)).event)
        #expect(spaced.line == #"2026-12-03T09:00:00.000Z  mason  task-done  seq=7  {"spaced":"a  b","n":"é"}"#)
        // Data a terminal would act on is not an event at all (the agent refuses it too).
        let hostile = #"{"esc":"\u001b[2J","raw":"a\#u{202E}b\#u{9B}c\#u{200B}d","spaced":"a  b"}"#
        guard case .malformed(_, let problem) = read("fleet/mason/event", Self.event(data: hostile)) else {
            Issue.record("a hostile event was read as an event")
            return
        }
        #expect(problem.contains("control, bidirectional or invisible characters"))
    }

    @Test("the JSON line: exact bytes, keys sorted, data as sent less the white space between tokens, one line")
    func jsonLine() throws {
        let data = "{ \"k\" : \"v\\n\u{E9}\" ,\n\t\"n\" : [ 1 , 2.50 ] }"
        let event = try #require(read("fleet/mason/event", Self.event(data: data, seq: 12)).event)
        let line = String(decoding: event.jsonLine, as: UTF8.self)
        #expect(
            line
                == "{\"boot_id\":\"\(Self.bootId)\",\"data\":{\"k\":\"v\\n\u{E9}\",\"n\":[1,2.50]},\"event\":\"task-done\",\"hatchling\":\"mason\",\"seq\":12,\"ts\":\"2026-12-03T09:00:00.000Z\"}\n"
        )
        let object = try #require(try JSONSerialization.jsonObject(with: Data(event.jsonLine)) as? [String: Any])
        #expect(Set(object.keys) == ["boot_id", "data", "event", "hatchling", "seq", "ts"])
        #expect((object["data"] as? [String: Any])?["k"] as? String == "v\n\u{E9}", "scripts get the exact text")
    }

    @Test("the warning gate: a burst, then one a second; what was held back is counted on the next line; lines are cleaned and cut")
    func warningGate() {
        var gate = WarningGate(burst: 3, interval: 1, maximumLength: 20)
        let passed = (0..<10).compactMap { gate.admit("w\($0)", at: 100) }
        #expect(passed == ["w0", "w1", "w2"] && gate.heldBack == 7)
        #expect(gate.admit("late", at: 100.5) == nil && gate.heldBack == 8)
        #expect(gate.admit("next", at: 101.1) == "next (8 more held back)" && gate.heldBack == 0)
        #expect(gate.admit("a\u{1B}[2J" + String(repeating: "x", count: 40), at: 200) == "a?[2J" + String(repeating: "x", count: 15) + "…")
    }

    @Test("watch keeps the last few events only, newest last, cut to one screen line; malformed ones are counted")
    func recentEvents() {
        var recent = RecentEvents(limit: 3, width: 70)
        #expect(recent.text() == "")
        var taken = (1...1000).map { recent.apply(Fixture.text("fleet/mason/event", Self.event(seq: UInt64($0))), root: "fleet") }
        taken.append(recent.apply(Fixture.text("fleet/mason/event", "junk"), root: "fleet"))
        let status = recent.apply(Fixture.message("fleet/mason/status", Fixture.online()), root: "fleet")
        #expect(taken.allSatisfy { $0 } && !status, "events and malformed ones are taken, a status is not")
        #expect(recent.events.map(\.payload.seq) == [998, 999, 1000])
        let lines = recent.text().split(separator: "\n")
        #expect(lines.first == "LAST EVENTS" && lines.count == 5)
        #expect(lines[3] == #"2026-12-03T09:00:00.000Z  mason  task-done  seq=1000  {"k":"v"}"#)
        #expect(lines[4] == "1 malformed event not shown (fleetctl events says why)")
        var long = RecentEvents(limit: 1, width: 70)
        long.apply(Fixture.text("fleet/mason/event", Self.event(data: #"{"k":"\#(String(repeating: "y", count: 500))"}"#)), root: "fleet")
        #expect(long.text().split(separator: "\n")[1].count == 70)
    }

    @Test("a watch frame shows the events under the table")
    func watchFrame() {
        var recent = RecentEvents()
        recent.apply(Fixture.text("fleet/mason/event", Self.event()), root: "fleet")
        var screen = WatchScreen(ansi: false)
        let frame = screen.frame(
            view: FleetView(root: "fleet"), events: recent, connection: .connected, changed: true, now: Fixture.t0, at: 10, source: "b")
        #expect(frame?.contains("LAST EVENTS\n2026-12-03T09:00:00.000Z  mason  task-done  seq=7") == true, "\(frame ?? "")")
    }

    @Test("names: each checked, each once; a bad one is a usage error that names it")
    func names() throws {
        #expect(try EventsRunner.names(["mason", "rook", "mason"]).map(\.rawValue) == ["mason", "rook"])
        #expect(throws: FleetctlError.setting(name: "hatchling name 'a/b'", problem: HatchlingNameError.badCharacter(offset: 1).description)) {
            try EventsRunner.names(["mason", "a/b"])
        }
        #expect((try? EventsRunner.names([String(repeating: "a", count: 65)])) == nil)
        #expect(FleetctlError.setting(name: "x", problem: "y").exitStatus == 2)
    }
}

extension FleetEvent.Reading {
    /// The event, when this is one.
    var event: FleetEvent? {
        if case .event(let event) = self { return event }
        return nil
    }
}
