import FleetControl
import FleetProtocol
import FleetSigning
import MosquittoClient
import Testing

@Suite("send: arguments, matching answers, exit status, signing")
struct SendTests {
    let mason = try! HatchlingName(validating: "mason")
    let rook = try! HatchlingName(validating: "rook")

    @Test("the command word is checked first; names are validated; --all takes no names")
    func parse() throws {
        let (command, targets) = try SendOptions.parse(words: ["mason", "rook", "mason", "health-check"], all: false)
        #expect(command == .healthCheck && targets == .names([mason, rook]))
        #expect(try SendOptions.parse(words: ["version-report"], all: true).1 == .all)
        #expect(throws: FleetctlError.unknownCommand("reboot")) { try SendOptions.parse(words: ["bad/name", "reboot"], all: false) }
        #expect(throws: FleetctlError.self) { try SendOptions.parse(words: ["bad/name", "health-check"], all: false) }
        #expect(throws: FleetctlError.self) { try SendOptions.parse(words: ["health-check"], all: false) }
        #expect(throws: FleetctlError.self) { try SendOptions.parse(words: ["mason", "health-check"], all: true) }
        #expect(FleetctlError.unknownCommand("reboot").description.contains("health-check, version-report, config-reload, status-report"))
    }

    func response(_ name: String, id: String?, error: FleetErrorCode? = nil) -> [UInt8] {
        let outcome: CommandOutcome =
            error.map { .failure(FleetErrorBody(code: $0, message: "no")) }
            ?? .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil))
        let value = CommandResponse(
            id: id, hatchling: try! HatchlingName(validating: name), command: "version-report", ts: Fixture.t0, durationMs: 1,
            outcome: outcome)
        return FleetJSON.encode(value)
    }

    @Test("answers match by correlation data or id; redeliveries and strangers' answers are ignored; exit 0, 1, 2")
    func tally() throws {
        var tally = SendTally(
            command: .versionReport, expected: [mason, rook], root: "fleet", requests: ["fc-1": mason, "fc-2": rook], startedAt: 0)
        let stranger = tally.accept(MQTTMessage(topic: "fleet/mason/response", payload: response("mason", id: "other")), at: 0.1)
        let correlated = tally.accept(
            MQTTMessage(topic: "fleet/mason/response", payload: response("mason", id: nil), correlationData: Array("fc-1".utf8)), at: 0.012)
        let redelivered = tally.accept(MQTTMessage(topic: "fleet/mason/response", payload: response("mason", id: "fc-1")), at: 0.2)
        #expect(!stranger && correlated && redelivered)
        #expect(!tally.isComplete)
        #expect(tally.report(signed: false).exitStatus == 2)
        #expect(tally.report(signed: false).missing == ["rook"])
        tally.accept(MQTTMessage(topic: "fleet/rook/response", payload: response("rook", id: "fc-2", error: .reloadFailed)), at: 0.3)
        #expect(tally.isComplete)
        let report = tally.report(signed: true)
        #expect(report.exitStatus == 1 && report.answers.map(\.hatchling) == ["mason", "rook"])
        #expect(report.answers[0].latencyMs == 12 && report.answers[0].ok && !report.answers[1].ok)
        #expect(report.table().contains("reload-failed: no") && report.table().contains("(signed): 1 ok, 1 failed, 0 no answer"))
    }

    @Test("a broadcast: others who answer are shown, not expected; an answer naming another hatchling is a bad answer")
    func broadcast() throws {
        var tally = SendTally(command: .versionReport, expected: [mason], root: "fleet", requests: ["fc-b": nil], startedAt: 0)
        tally.accept(MQTTMessage(topic: "fleet/kite/response", payload: response("kite", id: "fc-b")), at: 0.1)
        tally.accept(MQTTMessage(topic: "fleet/mason/response", payload: response("rook", id: "fc-b")), at: 0.2)
        let report = tally.report(signed: false)
        #expect(report.answers.map(\.hatchling) == ["mason", "kite"])
        #expect(report.answers[0].problem == "the answer on mason's topic names rook" && !report.answers[0].ok)
        #expect(!report.answers[1].expected)
        #expect(report.exitStatus == 1)
        #expect(SendReport(command: "x", signed: false, expected: [], answers: [], missing: [], note: nil).exitStatus == 2)
        let ok = SendReport(command: "x", signed: false, expected: ["mason"], answers: [report.answers[1]], missing: [], note: nil)
        #expect(ok.exitStatus == 0)
    }

    @Test("signed payloads verify with the agent's check; without a key there is no sig; a missing key file is named")
    func signing() throws {
        let key = "5f0c1a6e9b2d4f7a8c3e1b0d9f6a2c4e"
        var signer = CommandSigner(keys: .directory("/keys"), expiresIn: 60)
        try signer.loadKeys(for: [mason], readSecret: { $0 == "/keys/mason.key" ? key : nil }, readableByOthers: { _ in true })
        #expect(signer.warnings == ["signing key /keys/mason.key can be read by other users: chmod 600 it"])
        let payload = try signer.payload(command: .statusReport, id: "fc-a-1", for: mason, now: .now())
        let request = try CommandParser.parse(payload).get()
        #expect(request.id == "fc-a-1" && request.expiresAt != nil && request.signature?.count == 64)
        #expect(CommandSignature.verify(request, name: "mason", key: CommandKey(key)!, now: .now()) == nil)
        #expect(CommandSignature.verify(request, name: "rook", key: CommandKey(key)!, now: .now()) == .badSignature)

        let plain = try CommandSigner(keys: nil).payload(command: .healthCheck, id: "fc-a-2", for: mason, now: .now())
        #expect(try CommandParser.parse(plain).get().signature == nil)

        var missing = CommandSigner(keys: .directory("/keys/"))
        #expect(
            throws: FleetctlError.key(
                path: "/keys/rook.key", problem: "cannot be read; every hatchling needs its key there (add-hatchling.sh writes it)")
        ) {
            try missing.loadKeys(for: [rook], readSecret: { _ in nil })
        }
        #expect(throws: FleetctlError.self) { try missing.loadKeys(for: [rook], readSecret: { _ in "short" }) }
    }
}
