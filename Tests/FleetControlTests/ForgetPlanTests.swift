import FleetControl
import FleetProtocol
import MosquittoClient
import Testing

/// The decisions of `fleetctl forget` that need no broker: which names it refuses, and what the
/// check after the clear means. The broker side is in Tests/IntegrationTests/ForgetTests.swift.
@Suite("forget: refusals and the check after the clear")
struct ForgetPlanTests {
    let settings = try! ConnectionSettings.resolve(environment: ["MQTT_USERNAME": "zephyr"], overrides: ConnectionOverrides())
    let mason = try! HatchlingName(validating: "mason")
    let boot = "0123456789abcdef0123456789abcdef"

    func view(_ messages: [MQTTMessage]) -> FleetView {
        var view = FleetView(root: "fleet")
        for message in messages { view.apply(message) }
        return view
    }

    func offline(_ reason: StatusPayload.OfflineReason) -> StatusPayload {
        reason == .lost ? .lost(bootId: boot) : .shutdown(bootId: boot, at: Fixture.t0)
    }

    @Test("online (fresh heartbeat), a retained status still saying online (stale heartbeat) and a name with nothing retained are refused; offline and stale-offline are not")
    func refusals() {
        let fresh = Fixture.t0.adding(seconds: 5)
        let late = Fixture.t0.adding(seconds: 600)
        let online = view([Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason"))])
        #expect(ForgetCheck(name: mason, view: online, now: fresh).blocker == .refusedOnline)
        let stuck = ForgetCheck(name: mason, view: online, now: late)
        #expect(stuck.summary?.state == .stale && stuck.statusSaysOnline && stuck.blocker == .refusedOnline)
        #expect(ForgetCheck(name: mason, view: view([]), now: fresh).blocker == .refusedUnknown)
        let heartbeatOnly = view([Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason"))])
        #expect(ForgetCheck(name: mason, view: heartbeatOnly, now: fresh).blocker == .refusedOnline, "a fresh heartbeat is online")
        #expect(ForgetCheck(name: mason, view: heartbeatOnly, now: late).blocker == nil)
        for reason in [StatusPayload.OfflineReason.shutdown, .lost] {
            let gone = view([Fixture.message("fleet/mason/status", offline(reason)), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason"))])
            let check = ForgetCheck(name: mason, view: gone, now: fresh)
            #expect(check.blocker == nil && check.summary?.state == .offline && check.summary?.reason == reason.rawValue)
        }
        let unreadable = view([Fixture.text("fleet/mason/status", "not json", retain: true)])
        #expect(ForgetCheck(name: mason, view: unreadable, now: fresh).blocker == nil, "an unreadable status is known, not online")
    }

    @Test("after the clear: nothing left is forgotten; the same bytes left are kept by the broker (exit 3, the ACL named); other bytes are a running agent's")
    func settle() throws {
        let status = FleetJSON.encode(offline(.shutdown))
        let beat = FleetJSON.encode(Fixture.heartbeat("mason"))
        let before = ["fleet/mason/status": status, "fleet/mason/heartbeat": beat]
        let gone = view([Fixture.message("fleet/mason/status", offline(.shutdown))])
        let check = ForgetCheck(name: mason, view: gone, now: Fixture.t0)

        let forgotten = ForgetRunner.settle([check], before: before, after: [:], force: false, refusal: nil, settings: settings)
        #expect(forgotten.exitStatus == 0 && forgotten.hatchlings.map(\.result) == [.forgotten] && forgotten.note == nil)
        #expect(forgotten.table().contains("offline (shutdown)") && forgotten.table().contains("forget: 1 forgotten"))

        let kept = ForgetRunner.settle([check], before: before, after: before, force: true, refusal: nil, settings: settings)
        #expect(kept.exitStatus == 3 && kept.hatchlings.map(\.result) == [.kept])
        #expect(kept.hatchlings[0].remaining == ["fleet/mason/status", "fleet/mason/heartbeat"])
        let note = try #require(kept.note)
        #expect(note.contains("acknowledged the clear") && note.contains("'zephyr'") && note.contains("topic write fleet/+/status"))

        let refused = ForgetRunner.settle(
            [check], before: before, after: before, force: false, refusal: "the broker refused the clear: not authorised", settings: settings)
        #expect(refused.exitStatus == 3 && refused.note?.hasPrefix("the broker refused the clear") == true)

        let again = ["fleet/mason/status": Array("{\"v\":1,\"state\":\"online\"}".utf8)]
        let republished = ForgetRunner.settle([check], before: before, after: again, force: false, refusal: nil, settings: settings)
        #expect(republished.exitStatus == 1 && republished.hatchlings.map(\.result) == [.republished])
        #expect(ForgetRunner.settle([check], before: before, after: again, force: true, refusal: nil, settings: settings).exitStatus == 0)

        let event = ["fleet/mason/event": Array("{}".utf8)]
        let other = ForgetRunner.settle([check], before: before, after: event, force: false, refusal: nil, settings: settings)
        #expect(other.exitStatus == 0 && other.hatchlings[0].otherRetained == ["fleet/mason/event"])
        #expect(other.note?.contains("left alone: fleet/mason/event") == true)

        let unknown = ForgetCheck(name: mason, view: view([]), now: Fixture.t0)
        let nothing = ForgetRunner.settle([unknown], before: [:], after: [:], force: true, refusal: nil, settings: settings)
        #expect(nothing.exitStatus == 0 && nothing.hatchlings.map(\.result) == [.nothingRetained])
    }

    @Test("--json: snake_case keys, the result words, the exit status")
    func json() throws {
        let gone = view([Fixture.message("fleet/mason/status", offline(.lost))])
        let report = ForgetRunner.settle(
            [ForgetCheck(name: mason, view: gone, now: Fixture.t0)], before: [:], after: [:], force: false, refusal: nil, settings: settings)
        let text = try report.json()
        for key in ["\"exit_status\" : 0", "\"forced\" : false", "\"hatchling\" : \"mason\"", "\"result\" : \"forgotten\"", "\"reason\" : \"lost\"", "\"other_retained\" : ["] {
            #expect(text.contains(key), "\(key) in \(text)")
        }
    }
}
