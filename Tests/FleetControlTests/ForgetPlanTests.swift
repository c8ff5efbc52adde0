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

    @Test(
        "online (fresh heartbeat), a retained status still saying online (stale heartbeat) and a name with nothing retained are refused; offline and stale-offline are not"
    )
    func refusals() {
        let fresh = Fixture.t0.adding(seconds: 5)
        let late = Fixture.t0.adding(seconds: 600)
        let online = view([
            Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason")),
        ])
        #expect(ForgetCheck(name: mason, view: online, now: fresh).blocker == .refusedOnline)
        let stuck = ForgetCheck(name: mason, view: online, now: late)
        #expect(stuck.summary?.state == .stale && stuck.statusSaysOnline && stuck.blocker == .refusedOnline)
        #expect(ForgetCheck(name: mason, view: view([]), now: fresh).blocker == .refusedUnknown)
        let heartbeatOnly = view([Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason"))])
        #expect(ForgetCheck(name: mason, view: heartbeatOnly, now: fresh).blocker == .refusedOnline, "a fresh heartbeat is online")
        #expect(ForgetCheck(name: mason, view: heartbeatOnly, now: late).blocker == nil)
        for reason in [StatusPayload.OfflineReason.shutdown, .lost] {
            let gone = view([
                Fixture.message("fleet/mason/status", offline(reason)), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason")),
            ])
            let check = ForgetCheck(name: mason, view: gone, now: fresh)
            #expect(check.blocker == nil && check.summary?.state == .offline && check.summary?.reason == reason.rawValue)
        }
        let unreadable = view([Fixture.text("fleet/mason/status", "not json", retain: true)])
        #expect(ForgetCheck(name: mason, view: unreadable, now: fresh).blocker == nil, "an unreadable status is known, not online")
    }

    @Test(
        "after the clear: nothing left is forgotten; the same bytes left are kept by the broker (exit 3, the ACL and zephyr-admin named) unless the clear failed otherwise (failed, the error named, no ACL note); other bytes are a running agent's; forced while online is said so"
    )
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
        // As zephyr the fix is the admin user, named with its password file.
        #expect(
            note.contains("MQTT_USERNAME=zephyr-admin") && note.contains("zephyr-admin/mqtt-password") && note.contains("add-hub.sh --admin"),
            "\(note)")
        // As zephyr-admin the fix is that user's grant.
        let admin = try ConnectionSettings.resolve(environment: ["MQTT_USERNAME": ForgetRunner.adminUser], overrides: ConnectionOverrides())
        let adminNote = try #require(ForgetRunner.settle([check], before: before, after: before, force: false, refusal: nil, settings: admin).note)
        #expect(adminNote.contains("does not let zephyr-admin write") && adminNote.contains("under `user zephyr-admin`"), "\(adminNote)")
        #expect(!adminNote.contains("Run forget as"), "\(adminNote)")

        let refused = ForgetRunner.settle(
            [check], before: before, after: before, force: false, refusal: "the broker refused the clear: not authorised", settings: settings)
        #expect(refused.exitStatus == 3 && refused.note?.hasPrefix("the broker refused the clear") == true)

        // A clear that failed for another reason than the ACL: the real error, no ACL note.
        let timeout = "the broker did not acknowledge the publish to fleet/mason/status within 5 s"
        let failed = ForgetRunner.settle([check], before: before, after: before, force: false, refusal: nil, failure: timeout, settings: settings)
        #expect(failed.exitStatus == 3 && failed.hatchlings.map(\.result) == [.failed])
        #expect(failed.hatchlings[0].detail.contains(timeout), "\(failed.hatchlings[0].detail)")
        let failedNote = try #require(failed.note)
        #expect(failedNote.contains(timeout) && !failedNote.contains("ACL does not let") && !failedNote.contains("zephyr-admin"), "\(failedNote)")
        #expect(failed.table().contains("1 failed"))
        // The failure came after the clear of this one: it is forgotten, not failed.
        let partly = ForgetRunner.settle([check], before: before, after: [:], force: false, refusal: nil, failure: timeout, settings: settings)
        #expect(partly.exitStatus == 0 && partly.hatchlings.map(\.result) == [.forgotten] && partly.note == nil)

        let again = ["fleet/mason/status": Array("{\"v\":1,\"state\":\"online\"}".utf8)]
        let republished = ForgetRunner.settle([check], before: before, after: again, force: false, refusal: nil, settings: settings)
        #expect(republished.exitStatus == 1 && republished.hatchlings.map(\.result) == [.republished])
        #expect(ForgetRunner.settle([check], before: before, after: again, force: true, refusal: nil, settings: settings).exitStatus == 0)

        let event = ["fleet/mason/event": Array("{}".utf8)]
        let other = ForgetRunner.settle([check], before: before, after: event, force: false, refusal: nil, settings: settings)
        #expect(other.exitStatus == 0 && other.hatchlings[0].otherRetained == ["fleet/mason/event"])
        #expect(other.note?.contains("left alone: fleet/mason/event") == true)

        // --force on one the hub saw online: cleared, and said to come back at its next connect.
        let online = view([
            Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason")),
        ])
        let running = ForgetCheck(name: mason, view: online, now: Fixture.t0.adding(seconds: 5))
        #expect(running.blocker == .refusedOnline)
        let whileOnline = ForgetRunner.settle([running], before: before, after: [:], force: true, refusal: nil, settings: settings)
        #expect(whileOnline.exitStatus == 0 && whileOnline.hatchlings.map(\.result) == [.forgottenWhileOnline])
        #expect(whileOnline.hatchlings[0].detail.contains("next connect") && whileOnline.note?.contains("send --all skips it") == true)
        #expect(whileOnline.table().contains("1 forgotten-while-online"))

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
        for key in [
            "\"exit_status\" : 0", "\"forced\" : false", "\"hatchling\" : \"mason\"", "\"result\" : \"forgotten\"", "\"reason\" : \"lost\"",
            "\"other_retained\" : [",
        ] {
            #expect(text.contains(key), "\(key) in \(text)")
        }
    }
}
