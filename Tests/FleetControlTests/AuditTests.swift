import FleetControl
import FleetProtocol
import Foundation
import MosquittoClient
import Testing

@Suite("Audit: secrets, schema, topics, names")
struct AuditTests {
    let inspector = AuditInspector(root: "fleet", broadcast: "zephyr/broadcast")

    func codes(_ message: MQTTMessage) -> [String] {
        inspector.inspect(message, at: Fixture.t0).findings.map(\.code)
    }

    @Test(
        "secret shapes are found and named, never quoted",
        arguments: [
            "sk-ant-api03-SECRETSECRETSECRET000111", "sk-proj-abcdefghijklmnopqrstuvwxyz", "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "xoxb-1234567890-abcdefghij", "AKIAIOSFODNN7EXAMPLE", "7012345678:AAHabcdefghijklmnopqrstuvwxyz012345678",
            "-----BEGIN PRIVATE KEY-----", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "token=Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWo",
        ])
    func secrets(_ text: String) {
        let found = SecretScanner.scan(Array(#"{"note":"\#(text)"}"#.utf8))
        #expect(found.count == 1, "\(text): \(found)")
        #expect(!found.joined().contains(text))
    }

    @Test(
        "no false alarms on the contract's own values",
        arguments: [
            "0123456789abcdef0123456789abcdef", "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea",
            "/tmp/hatchling-agent-mason-1A2B3C4D/data/Abc123XyZ987654321aBcDeFgHiJkLmN", "2026-11-29T05:00:00.120Z",
            "HATCHLING_AGENT_CONFIG is not set: there is no configuration file to reload", "fc-3a9f2c-12", "9C2A4B1E-7D6F-4A3B-8C5D-1E2F3A4B5C6D",
            "sk-short", "disk_free_bytes", "fleetctl-barrier-0123abcd",
        ])
    func quiet(_ text: String) {
        #expect(SecretScanner.scan(Array(#"{"note":"\#(text)"}"#.utf8)).isEmpty, "\(text)")
    }

    @Test("hostile shapes a hatchling may publish are scanned in one pass: many word starts in one long run")
    func linearScan() {
        // 64 KB each; the old scan looked from every word start to the end of the run (minutes).
        let dots = Array(String(repeating: ".a", count: 32_000).utf8)
        #expect(SecretScanner.scan(dots).isEmpty)
        let plus = Array(("eyJ" + String(repeating: "+eyJaaaaaaaaaa", count: 4_600)).utf8)
        #expect(SecretScanner.scan(plus).isEmpty)
        let jwt = Array((String(repeating: "eyJaaaaaaaaa.", count: 5_000) + "x").utf8)
        #expect(SecretScanner.scan(jwt).isEmpty, "more than three parts is no JWT")
    }

    @Test("an agent's own payloads are ok")
    func agentPayloads() throws {
        #expect(codes(Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason"))) == [])
        #expect(codes(Fixture.message("fleet/mason/status", Fixture.online())) == [])
        #expect(codes(Fixture.message("fleet/mason/status", StatusPayload.lost(bootId: "0123456789abcdef0123456789abcdef"))) == [])
        let report = StatusReport(heartbeat: Fixture.heartbeat("mason"), counters: AgentCounters())
        let response = CommandResponse(
            id: "fc-1", hatchling: try HatchlingName(validating: "mason"), command: "status-report", ts: Fixture.t0, durationMs: 2,
            outcome: .status(report))
        #expect(codes(Fixture.message("fleet/mason/response", response, retain: false)) == [])
        #expect(codes(Fixture.text("fleet/mason/command", #"{"command":"health-check","id":"fc-1","extra":1}"#)) == [])
        #expect(codes(Fixture.text("zephyr/broadcast", "health-check")) == [])
        #expect(codes(Fixture.text("fleet/mason/status", "", retain: true)) == [], "deleting a retained status")
    }

    @Test("off-contract topics, non-JSON, unknown fields, schema errors, another's name, retained commands, bad commands")
    func findings() throws {
        #expect(codes(Fixture.text("fleet/x/extra", "hi")) == ["off-contract-topic"])
        #expect(codes(Fixture.text("fleet/mason/heartbeat/more", "{}")) == ["off-contract-topic"])
        #expect(codes(Fixture.text("elsewhere", "hi")) == ["off-contract-topic"])
        #expect(codes(Fixture.text("fleet/mason/heartbeat", "up")) == ["not-json"])
        #expect(codes(Fixture.text("fleet/mason/response", "")) == ["not-json"])
        #expect(codes(Fixture.text("fleet/mason/status", #"{"v":1,"state":"online","boot_id":"b","shell":"ls"}"#)) == ["unknown-field"])
        #expect(codes(Fixture.text("fleet/mason/status", #"{"v":1,"state":"sleeping","boot_id":"b"}"#)) == ["schema"])
        #expect(
            codes(Fixture.text("fleet/rook/status", #"{"v":1,"state":"online","boot_id":"b","hatchling":"mason"}"#)) == [
                "impersonation", "unknown-field",
            ])
        var beat = FleetJSON.encode(Fixture.heartbeat("mason"))
        #expect(codes(MQTTMessage(topic: "fleet/rook/heartbeat", payload: beat)) == ["impersonation"])
        beat = Array(
            String(decoding: beat, as: UTF8.self).replacingOccurrences(
                of: #""health":"healthy""#, with: #""health":"healthy","env":{"HOME":"/root"}"#
            ).utf8)
        #expect(codes(MQTTMessage(topic: "fleet/mason/heartbeat", payload: beat)) == ["unknown-field"])
        #expect(codes(Fixture.text("fleet/mason/command", "health-check", retain: true)) == ["retained"])
        #expect(codes(Fixture.text("fleet/mason/command", "rm -rf /")) == ["bad-command"])
        let leak = #"{"key":"sk-ant-api03-SECRETSECRETSECRET000111"}"#
        let record = inspector.inspect(Fixture.text("fleet/mason/response", leak), at: Fixture.t0)
        #expect(record.verdict == "flagged" && record.findings.map(\.code).contains("secret"))
        #expect(record.sha256.count == 64 && record.size == leak.utf8.count && record.kind == "response" && record.hatchling == "mason")
    }

    @Test("events: checked against their contract, never retained, secrets found behind JSON escapes too")
    func events() {
        let event = EventsTests.event()
        #expect(codes(Fixture.text("fleet/mason/event", event)) == [])
        #expect(inspector.inspect(Fixture.text("fleet/mason/event", event), at: Fixture.t0).kind == "event")
        #expect(codes(Fixture.text("fleet/mason/event", event, retain: true)) == ["retained"])
        #expect(codes(Fixture.text("fleet/mason/event", "task-done")) == ["not-json"])
        #expect(codes(Fixture.text("fleet/mason/event", "")) == ["not-json"])
        let unknown = Fixture.text("fleet/mason/event", String(event.dropLast()) + #","shell":"ls"}"#)
        #expect(codes(unknown) == ["unknown-field"])
        #expect(inspector.inspect(unknown, at: Fixture.t0).findings.first?.detail.contains(#""shell""#) == true)
        #expect(codes(Fixture.text("fleet/mason/event", EventsTests.event("Task-Done"))) == ["schema"])
        #expect(codes(Fixture.text("fleet/mason/event", EventsTests.event(data: "[1]"))) == ["schema"])
        #expect(codes(Fixture.text("fleet/-x/event", event)) == ["off-contract-topic"])
        #expect(codes(Fixture.text("fleet/mason/event", EventsTests.event(data: #"{"k":"sk-proj-abcdefghijklmnopqrstuvwxyz"}"#))) == ["secret"])
        #expect(codes(Fixture.text("fleet/mason/event", EventsTests.event(data: #"{"k":"\u0073k-proj-abcdefghijklmnopqrstuvwxyz"}"#))) == ["secret"])
    }

    @Test("the summary counts verdicts, kinds and findings; exit 1 when something was flagged")
    func summary() {
        var summary = AuditSummary()
        summary.add(inspector.inspect(Fixture.text("fleet/x/extra", "hi"), at: Fixture.t0))
        summary.add(inspector.inspect(Fixture.message("fleet/mason/status", Fixture.online()), at: Fixture.t0))
        #expect(summary.messages == 2 && summary.byVerdict == ["ok": 1, "flagged": 1] && summary.exitStatus == 1)
        #expect(summary.text(source: "b").contains("findings: off-contract-topic 1"))
    }
}

@Suite("Terminal text from hatchlings")
struct TerminalTextTests {
    @Test("controls and invisible reordering characters become '?'; other text is kept")
    func clean() {
        #expect(TerminalText.clean("1.0\u{1B}[2J") == "1.0?[2J")
        #expect(TerminalText.clean("v1\u{202E}kcab") == "v1?kcab", "a right-to-left override would make the row read backwards")
        #expect(TerminalText.clean("a\u{200B}b\u{2066}c\u{FEFF}") == "a?b?c?")
        #expect(TerminalText.clean("Zürich ✓ 名前") == "Zürich ✓ 名前")
    }
}
