import FleetControl
import FleetProtocol
import MosquittoClient
import Testing

@Suite("Fleet view: online, offline, stale")
struct FleetViewTests {
    func view(_ messages: [MQTTMessageLike]) -> FleetView {
        var view = FleetView(root: "fleet")
        for message in messages { view.apply(message.message) }
        return view
    }

    @Test("status --json: the coding keys written out give the same bytes as converting every key to snake_case")
    func jsonKeys() throws {
        var view = FleetView(root: "fleet")
        for message in [
            Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason")),
            Fixture.message("fleet/finch/status", Fixture.online()), MQTTMessage(topic: "fleet/finch/heartbeat", payload: Array("{broken".utf8)),
            MQTTMessage(
                topic: "fleet/rook/status",
                payload: Array(#"{"v":1,"state":"offline","reason":"lost","boot_id":"0123456789abcdef0123456789abcdef"}"#.utf8)),
        ] {
            view.apply(message)
        }
        let report = FleetStatusReport(view: view, now: Fixture.t0.adding(seconds: 5))
        #expect(try report.json() == FleetJSON.encodePretty(report) + "\n")
        #expect(try report.json().contains("\"heartbeat_age_s\""))
    }

    @Test("online with a fresh heartbeat, with its figures")
    func online() throws {
        let view = view([.status("mason", Fixture.online()), .beat("mason", Fixture.heartbeat("mason"))])
        let summary = try #require(view.summaries(now: Fixture.t0.adding(seconds: 10)).first)
        #expect(summary.state == .online && summary.reason == nil)
        #expect(summary.heartbeatAgeS == 10 && summary.health == "healthy" && summary.gatewayOk == true)
        #expect(summary.memoryCurrentBytes == 100 << 20 && summary.memoryLimitBytes == 400 << 20 && summary.memoryPct == 25)
        #expect(summary.memoryWorkingSetBytes == 80 << 20)
        #expect(try !FleetJSON.encodePretty(summary, keysAsWritten: true).contains("working_set"), "for the exporter, not in status --json")
        #expect(summary.cpuPct == 1.5 && summary.load1 == 0.5 && summary.diskFreeBytes == 40 << 30 && summary.diskFreePct == 40)
        #expect(summary.agentVersion == "1.0.0" && summary.bootId == "0123456789abcdef0123456789abcdef")
    }

    @Test("stale past 2.5 of its own intervals, without figures; an online status without a heartbeat is stale too")
    func stale() throws {
        let beat = Fixture.heartbeat("finch", interval: 2)
        let view = view([.status("finch", Fixture.online()), .beat("finch", beat), .status("wren", Fixture.online())])
        let fresh = view.summaries(now: Fixture.t0.adding(seconds: 5))
        #expect(fresh[0].state == .online, "5 s is exactly 2.5 × 2 s")
        let late = view.summaries(now: Fixture.t0.adding(seconds: 5.1))
        #expect(late[0].state == .stale && late[0].health == nil && late[0].memoryCurrentBytes == nil && late[0].memoryWorkingSetBytes == nil)
        #expect(late[0].reason?.contains("limit 5.0s") == true, "\(late[0].reason ?? "")")
        #expect(late[1].name == "wren" && late[1].state == .stale && late[1].reason == "no heartbeat")
    }

    @Test("offline with its reason; a heartbeat of an older run does not count")
    func offline() throws {
        let lost = StatusPayload.lost(bootId: "ffffffffffffffffffffffffffffffff")
        let view = view([
            .status("rook", lost), .beat("rook", Fixture.heartbeat("rook", boot: "ffffffffffffffffffffffffffffffff")),
            .status("kite", Fixture.online(boot: "22222222222222222222222222222222")), .beat("kite", Fixture.heartbeat("kite")),
        ])
        let summaries = view.summaries(now: Fixture.t0.adding(seconds: 1))
        #expect(summaries.map(\.name) == ["kite", "rook"])
        #expect(summaries[1].state == .offline && summaries[1].reason == "lost" && summaries[1].health == nil)
        #expect(summaries[0].state == .stale && summaries[0].reason == "no heartbeat of this run")
    }

    @Test("an empty retained message deletes; an unreadable one is a problem; other topics are ignored")
    func edges() throws {
        var view = view([.status("mason", Fixture.online()), .beat("mason", Fixture.heartbeat("mason"))])
        let response = view.apply(Fixture.text("fleet/mason/response", "{}"))
        let elsewhere = view.apply(Fixture.text("other/mason/status", "{}"))
        #expect(!response && !elsewhere)
        view.apply(Fixture.text("fleet/mason/heartbeat", "not json"))
        #expect(view.summaries(now: Fixture.t0).first?.problems == ["unreadable heartbeat"])
        view.apply(Fixture.text("fleet/mason/heartbeat", ""))
        view.apply(Fixture.text("fleet/mason/status", ""))
        #expect(view.records.isEmpty)
    }

    @Test("the report counts states and renders a table")
    func report() throws {
        let view = view([.status("mason", Fixture.online()), .beat("mason", Fixture.heartbeat("mason")), .status("rook", .lost(bootId: "ab"))])
        let report = FleetStatusReport(view: view, now: Fixture.t0.adding(seconds: 3))
        #expect(report.counts == ["online": 1, "offline": 1, "stale": 0])
        let table = report.table()
        #expect(table.contains("offline (lost)") && table.contains("100 MiB / 400 MiB (25%)") && table.contains("40 GiB (40%)"))
        #expect(try report.json().contains("\"heartbeat_age_s\" : 3"))
    }
}

/// Short-hand for status and heartbeat messages.
enum MQTTMessageLike {
    case status(String, StatusPayload)
    case beat(String, Heartbeat)

    var message: MQTTMessage {
        switch self {
        case .status(let name, let payload): Fixture.message("fleet/\(name)/status", payload)
        case .beat(let name, let payload): Fixture.message("fleet/\(name)/heartbeat", payload)
        }
    }
}
