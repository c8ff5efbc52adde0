import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// `fleetctl events`, `watch`'s events and `audit`'s event checks against a real mosquitto, with a
/// test client publishing as the hatchlings (the agent's `publish` is not needed for the hub's side).
@Suite("fleetctl events", .serialized)
struct FleetctlEventsTests {
    static let bootId = "0123456789abcdef0123456789abcdef"
    /// As JSON escapes: clear the screen. Raw in a JSON string: a right-to-left override and a C1 CSI.
    static let hostileData = #"{"esc":"\u001b[2J","raw":"a\#u{202E}b\#u{9B}c"}"#

    static func event(_ name: String = "task-done", data: String = #"{"k":"v"}"#, seq: Int = 7) -> String {
        #"{"boot_id":"\#(bootId)","data":\#(data),"event":"\#(name)","seq":\#(seq),"ts":"2026-12-03T09:00:00.000Z","v":1}"#
    }

    /// A started fleetctl whose standard output and standard error go to files of their own.
    struct Running {
        let process: ChildProcess
        let stdout: URL
        let stderr: URL

        static func start(_ arguments: [String], _ broker: TestBroker, _ extra: [String: String] = [:]) throws -> Running {
            let directory = try makeTemporaryDirectory(prefix: "events")
            let stdout = directory.appendingPathComponent("stdout")
            let stderr = directory.appendingPathComponent("stderr")
            let process = try Fleetctl.start(arguments, environment: Fleetctl.environment(broker, extra), output: stdout, errors: stderr)
            return Running(process: process, stdout: stdout, stderr: stderr)
        }

        func out() -> String { (try? String(contentsOf: stdout, encoding: .utf8)) ?? "" }
        func err() -> String { (try? String(contentsOf: stderr, encoding: .utf8)) ?? "" }
        func lines() -> [String] { out().split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    /// Runs `body` with the processes, then stops each by its pid: SIGINT and exit 0 expected
    /// when the body passed, SIGKILL when it threw.
    func stopping(_ running: [Running], _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            for one in running { await one.process.terminate(signal: SIGKILL, grace: 5) }
            throw error
        }
        for one in running {
            one.process.signal(SIGINT)
            #expect(await one.process.waitForExit(seconds: 15) == 0, "a clean exit on SIGINT: \(one.err())")
            if one.process.isRunning { await one.process.terminate(signal: SIGKILL, grace: 5) }
        }
    }

    @Test("text and --json: decoded, exact, hostile data made safe in text; malformed and retained events are not shown as events")
    func follow() async throws {
        try await withBroker { broker in
            let hatchling = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hatchling.close() }
            // A retained event on the broker before fleetctl starts: replayed to it, and refused.
            try hatchling.publish("fleet/rook/event", Self.event(seq: 1), retain: true)
            _ = try await hatchling.waitForMessage("the retained event back") { $0.topic == "fleet/rook/event" }
            let text = try Running.start(["events"], broker)
            let json = try Running.start(["events", "--json"], broker)
            try await stopping([text, json]) {
                for running in [text, json] {
                    try await waitFor("events to subscribe", timeout: 30) { running.err().contains("following fleet/+/event") }
                }
                try hatchling.publish("fleet/mason/event", Self.event())
                try hatchling.publish("fleet/mason/event", Self.event("build-failed", data: Self.hostileData, seq: 8))
                try hatchling.publish("fleet/mason/event", #"{"v":1,"event":"sneaky","data":{"k":"v"},"seq":9}"#)
                try hatchling.publish("fleet/mason/event", Self.event("marker", seq: 10))
                for running in [text, json] {
                    try await waitFor("the marker event", timeout: 30) { running.out().contains("marker") }
                }
            }

            // The hostile event (escape codes, a bidirectional override, a C1 control in its data) is
            // not shown at all: what an agent would refuse, the hub does not display either.
            #expect(
                text.lines() == [
                    #"2026-12-03T09:00:00.000Z  mason  task-done  seq=7  {"k":"v"}"#,
                    #"2026-12-03T09:00:00.000Z  mason  marker  seq=10  {"k":"v"}"#,
                ])
            #expect(!text.out().unicodeScalars.contains { [0x1B, 0x9B, 0x202E].contains($0.value) }, "nothing a terminal would act on")
            #expect(!(text.err() + json.err()).unicodeScalars.contains { [0x1B, 0x9B, 0x202E].contains($0.value) }, "nor in the warnings")
            #expect(text.err().contains("control, bidirectional or invisible characters"), "\(text.err())")
            #expect(text.err().contains("not an event, on fleet/mason/event") && text.err().contains("ts must be an RFC 3339 time"), "\(text.err())")
            #expect(text.err().contains("on fleet/rook/event") && text.err().contains("retained"), "\(text.err())")
            #expect(!text.out().contains("sneaky") && !text.out().contains("rook"))

            let lines = json.lines()
            #expect(lines.count == 2, "\(lines)")
            #expect(
                lines.first
                    == #"{"boot_id":"\#(Self.bootId)","data":{"k":"v"},"event":"task-done","hatchling":"mason","seq":7,"ts":"2026-12-03T09:00:00.000Z"}"#
            )
            let objects = lines.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(objects.count == 2 && objects.allSatisfy { Set($0.keys) == ["boot_id", "data", "event", "hatchling", "seq", "ts"] })
            #expect(objects.map { $0["seq"] as? Int } == [7, 10])
            #expect(
                !json.out().contains("sneaky") && !json.out().contains("build-failed") && json.err().contains("not an event"),
                "malformed: skipped, warned on stderr")
        }
    }

    @Test("NAMEs: only their events; a bad NAME is a usage error (exit 2) that names it")
    func named() async throws {
        try await withBroker { broker in
            let hatchling = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hatchling.close() }
            let rook = try Running.start(["events", "rook", "--json"], broker)
            try await stopping([rook]) {
                try await waitFor("events to subscribe", timeout: 30) { rook.err().contains("following fleet/rook/event") }
                try hatchling.publish("fleet/mason/event", Self.event(seq: 1))
                try hatchling.publish("fleet/rook/event", Self.event("marker", seq: 2))
                try await waitFor("rook's event", timeout: 30) { rook.out().contains("marker") }
            }
            #expect(rook.lines().count == 1 && !rook.out().contains("mason"), "\(rook.out())")

            let bad = try await Fleetctl.run(["events", "mason", "ma/son"], environment: Fleetctl.environment(broker))
            #expect(bad.status == 2 && bad.stdout.isEmpty)
            #expect(bad.stderr.contains("hatchling name 'ma/son'") && bad.stderr.contains("bad character at byte 3"), "\(bad.stderr)")
        }
    }

    @Test("a flood of malformed events costs a few warning lines, and the count of the rest")
    func flood() async throws {
        try await withBroker { broker in
            let hatchling = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hatchling.close() }
            let events = try Running.start(["events"], broker)
            try await stopping([events]) {
                try await waitFor("events to subscribe", timeout: 30) { events.err().contains("following") }
                for n in 0..<500 { try hatchling.publish("fleet/mason/event", "junk-\(n)") }
                try hatchling.publish("fleet/mason/event", Self.event("marker"))
                try await waitFor("the marker after the flood", timeout: 60) { events.out().contains("marker") }
            }
            let warnings = events.err().split(separator: "\n").filter { $0.contains("not an event") }
            #expect(warnings.count < 50, "\(warnings.count) warning lines for 500 malformed events")
            #expect(events.err().contains("1 event shown, 500 malformed"), "\(events.err())")
        }
    }

    @Test("watch: the last events under the table, cleaned; no escape codes with TERM=dumb")
    func watch() async throws {
        try await withBroker { broker in
            let hatchling = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hatchling.close() }
            let watch = try Running.start(["watch"], broker, ["TERM": "dumb"])
            try await stopping([watch]) {
                try await waitFor("watch to connect", timeout: 30) { watch.out().contains("watching") }
                try hatchling.publish("fleet/mason/event", Self.event("build-failed", data: Self.hostileData))
                try hatchling.publish("fleet/mason/event", Self.event("build-failed", data: #"{"step":"link"}"#, seq: 8))
                try await waitFor("the event in a frame", timeout: 30) { watch.out().contains("seq=8") }
            }
            #expect(watch.out().contains(#"LAST EVENTS"# + "\n" + #"2026-12-03T09:00:00.000Z  mason  build-failed  seq=8  {"step":"link"}"#))
            #expect(watch.out().contains("1 malformed event not shown"), "\(watch.out())")
            #expect(!watch.out().unicodeScalars.contains { [0x1B, 0x9B, 0x202E].contains($0.value) })
        }
    }

    @Test("audit: events checked against their contract; a retained one, one off the contract and a hidden secret are flagged")
    func audit() async throws {
        try await withBroker { broker in
            let hatchling = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hatchling.close() }
            try hatchling.publish("fleet/rook/event", Self.event(seq: 1), retain: true)
            _ = try await hatchling.waitForMessage("the retained event back") { $0.topic == "fleet/rook/event" }
            let directory = try makeTemporaryDirectory(prefix: "audit")
            let file = directory.appendingPathComponent("audit.jsonl")
            let audit = try Running.start(["audit", "--output", file.path], broker)
            func records() -> [[String: Any]] {
                let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            }
            do {
                try await waitFor("the audit to subscribe", timeout: 30) { audit.err().contains("recording") }
                try hatchling.publish("fleet/mason/event", Self.event(seq: 2))
                try hatchling.publish("fleet/mason/event", String(Self.event(seq: 3).dropLast()) + #","shell":"ls"}"#)
                try hatchling.publish("fleet/mason/event", Self.event(data: #"{"k":"\u0073k-proj-abcdefghijklmnopqrstuvwxyz"}"#, seq: 4))
                try hatchling.publish("fleet/mason/event", "task-done")
                try hatchling.publish("fleet/mason/event", Self.event("marker", seq: 5))
                try await waitFor("the marker in the audit", timeout: 30) { records().count >= 6 }
            } catch {
                await audit.process.terminate(signal: SIGKILL, grace: 5)
                throw error
            }
            audit.process.signal(SIGINT)
            #expect(await audit.process.waitForExit(seconds: 15) == 1, "exit 1: something was flagged")
            if audit.process.isRunning { await audit.process.terminate(signal: SIGKILL, grace: 5) }
            let events = records().filter { $0["kind"] as? String == "event" }
            let codes = events.map { ($0["findings"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }
            #expect(codes == [["retained"], [], ["unknown-field"], ["secret"], ["not-json"], []], "\(events)")
            #expect(events.allSatisfy { ($0["sha256"] as? String)?.count == 64 })
            #expect(!((try? String(contentsOf: file, encoding: .utf8)) ?? "").contains("abcdefghij"), "digests, never payloads")
        }
    }
}
