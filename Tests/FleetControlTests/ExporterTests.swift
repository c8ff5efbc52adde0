import FleetProtocol
import MosquittoClient
import Testing

@testable import FleetControl

@Suite("Exporter: exposition and the small HTTP server's parsing")
struct ExporterTests {
    func render(_ messages: [MQTTMessage], at seconds: Double = 5) -> String {
        var view = FleetView(root: "fleet")
        for message in messages { view.apply(message) }
        return String(
            decoding: MetricsRenderer.render(view.summaries(now: Fixture.t0.adding(seconds: seconds)), brokerConnected: true), as: UTF8.self)
    }

    @Test("an online hatchling has every family with HELP and TYPE; a stale one only its state, last heartbeat and info")
    func gauges() {
        let text = render([
            Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason")),
            Fixture.message("fleet/finch/status", Fixture.online()),
            Fixture.message("fleet/finch/heartbeat", Fixture.heartbeat("finch", at: Fixture.t0.adding(seconds: -100))),
        ])
        for family in MetricsRenderer.help {
            #expect(text.contains("# HELP \(family.name) ") && text.contains("# TYPE \(family.name) \(family.type)\n"), "\(family.name)")
            #expect(family.type == (family.name.hasSuffix("_total") ? "counter" : "gauge"), "\(family.name)")
            #expect(!family.name.contains("percent") && !family.name.contains("_pct"), "\(family.name): ratios, not percentages")
        }
        #expect(text.contains(#"hatchling_up{hatchling="mason"} 1.0"#))
        #expect(text.contains(#"hatchling_state{hatchling="mason",state="online"} 1.0"#))
        #expect(text.contains(#"hatchling_state{hatchling="mason",state="stale"} 0.0"#))
        #expect(text.contains(#"hatchling_memory_current_bytes{hatchling="mason"} 104857600.0"#))
        #expect(text.contains(#"hatchling_memory_limit_bytes{hatchling="mason"} 419430400.0"#))
        #expect(text.contains(#"hatchling_memory_working_set_bytes{hatchling="mason"} 83886080.0"#))
        let t0 = Double(Fixture.t0.millisecondsSinceEpoch) / 1000
        #expect(text.contains("hatchling_last_heartbeat_timestamp_seconds{hatchling=\"mason\"} \(t0)\n"))
        #expect(text.contains("hatchling_last_heartbeat_timestamp_seconds{hatchling=\"finch\"} \(t0 - 100)\n"))
        #expect(text.contains(#"fleetctl_build_info{version="\#(FleetControlVersion.current)"} 1.0"#))
        #expect(text.contains(#"hatchling_up{hatchling="finch"} 0.0"#))
        #expect(text.contains(#"hatchling_state{hatchling="finch",state="stale"} 1.0"#))
        let finch = text.split(separator: "\n").filter { $0.contains(#"hatchling="finch""#) }
        let kinds = Set(finch.map { $0.prefix { $0 != "{" } })
        #expect(kinds == ["hatchling_up", "hatchling_state", "hatchling_last_heartbeat_timestamp_seconds", "hatchling_info"], "\(finch)")
        #expect(finch.count == 7, "\(finch)")
    }

    @Test("figures in base units and ratios, from the heartbeat's fields")
    func figures() {
        var beat = Fixture.heartbeat("mason")
        beat.container.cpuLimitCores = 2
        beat.container.oomKills = 3
        beat.container.netRxBytes = 123_456
        beat.container.netTxBytes = 654_321
        beat.agent.uptimeS = 12.5
        let text = render([Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", beat)])
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.contains(#"{hatchling="mason"}"#) {
            let parts = line.split(separator: " ")
            values[String(parts[0].prefix { $0 != "{" })] = Double(parts[1])
        }
        let beatS = Double(beat.ts.millisecondsSinceEpoch) / 1000
        func expectValue(_ name: String, _ expected: Double?, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(
                values[name] == expected, "\(name): \(String(describing: values[name])) != \(String(describing: expected))",
                sourceLocation: sourceLocation)
        }
        expectValue("hatchling_memory_current_bytes", beat.container.memCurrentBytes.map { Double($0) })
        expectValue("hatchling_memory_working_set_bytes", beat.container.memWorkingSetBytes.map { Double($0) })
        #expect(values["hatchling_memory_working_set_bytes"] != nil, "the fixture sends a working set")
        expectValue("hatchling_cpu_usage_ratio", beat.container.cpuPct.map { $0 / 100 })
        expectValue("hatchling_host_cpu_busy_ratio", beat.host.cpuPct.map { $0 / 100 })
        expectValue("hatchling_cpu_limit_cores", beat.container.cpuLimitCores)
        expectValue("hatchling_data_filesystem_avail_bytes", beat.disk.freeBytes.map { Double($0) })
        expectValue("hatchling_data_filesystem_size_bytes", beat.disk.totalBytes.map { Double($0) })
        expectValue("hatchling_oom_kills_total", beat.container.oomKills.map { Double($0) })
        expectValue("hatchling_network_receive_bytes_total", beat.container.netRxBytes.map { Double($0) })
        expectValue("hatchling_network_transmit_bytes_total", beat.container.netTxBytes.map { Double($0) })
        expectValue("hatchling_container_start_time_seconds", beat.container.uptimeS.map { beatS - $0 })
        expectValue("hatchling_agent_start_time_seconds", beat.agent.uptimeS.map { beatS - $0 })
        expectValue("hatchling_gateway_latency_seconds", beat.gateway.latencyMs.map { Double($0) / 1000 })
        // The fixture must exercise most of them, or the checks above prove little.
        #expect(values.count == 18, "\(values.keys.sorted())")
    }

    @Test("a lost hatchling and one that shut down are told apart; nonsense figures make no series")
    func states() {
        let text = render([
            Fixture.message("fleet/lark/status", StatusPayload.lost(bootId: "0123456789abcdef0123456789abcdef")),
            Fixture.message("fleet/wren/status", StatusPayload.shutdown(bootId: "0123456789abcdef0123456789abcdef", at: Fixture.t0)),
        ])
        #expect(text.contains(#"hatchling_state{hatchling="lark",state="lost"} 1.0"#), "\(text)")
        #expect(text.contains(#"hatchling_state{hatchling="lark",state="shutdown"} 0.0"#))
        #expect(text.contains(#"hatchling_state{hatchling="wren",state="shutdown"} 1.0"#))
        #expect(text.contains(#"hatchling_state{hatchling="wren",state="lost"} 0.0"#))
        var wild = Fixture.heartbeat("mason")
        wild.container.uptimeS = -5
        wild.agent.uptimeS = 1e300
        let odd = render([Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", wild)])
        #expect(!odd.contains("hatchling_container_start_time_seconds{") && !odd.contains("hatchling_agent_start_time_seconds{"), "\(odd)")
    }

    @Test("label values a hatchling sends are checked: a hostile version or boot id is exported as 'invalid'")
    func hostileLabels() {
        let hostile = render([Fixture.message("fleet/mason/status", Fixture.online(boot: "x\u{1B}[2J", version: "1.0\\\"x\ny"))])
        #expect(hostile.contains(#"agent_version="invalid""#) && hostile.contains(#"boot_id="invalid""#), "\(hostile)")
        #expect(!hostile.contains("\u{1B}"))
        let fine = render([Fixture.message("fleet/mason/status", Fixture.online(version: "1.2.3-rc1"))])
        #expect(fine.contains(#"agent_version="1.2.3-rc1""#) && fine.contains(#"boot_id="0123456789abcdef0123456789abcdef""#), "\(fine)")
    }

    @Test("the text format's escapes: backslash and newline in help and label values, double quote in label values; +Inf, -Inf, NaN")
    func escapes() {
        var out: [UInt8] = []
        MetricsRenderer.sample("x", [("a", "back\\slash \"quoted\"\nline"), ("b", "")], 1, into: &out)
        MetricsRenderer.header("x", "help \\ \"kept\"\nnext", into: &out)
        for value in [Double.infinity, -.infinity, .nan, 0.5, 1e300] { MetricsRenderer.sample("y", [], value, into: &out) }
        #expect(
            String(decoding: out, as: UTF8.self) == #"""
                x{a="back\\slash \"quoted\"\nline",b=""} 1.0
                # HELP x help \\ "kept"\nnext
                # TYPE x gauge
                y +Inf
                y -Inf
                y NaN
                y 0.5
                y 1e+300

                """#)
    }

    @Test("requests: GET and HEAD of /metrics, 404 elsewhere, 405 other methods, 400 and 431 for junk")
    func http() {
        #expect(HTTPExchange.parse(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n".utf8)) == .incomplete)
        #expect(HTTPExchange.parse(Array("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)) == .request(method: "GET", path: "/metrics"))
        #expect(HTTPExchange.parse(Array("GET /metrics HTTP/1.0\n\n".utf8)) == .request(method: "GET", path: "/metrics"))
        #expect(HTTPExchange.parse(Array("hello\r\n\r\n".utf8)) == .bad(status: 400))
        #expect(HTTPExchange.parse([UInt8](repeating: 0x41, count: 9000)) == .bad(status: 431))
        #expect(HTTPExchange.respond(method: "GET", path: "/metrics", metrics: { [1] }).status == 200)
        #expect(HTTPExchange.respond(method: "GET", path: "/", metrics: { [] }).status == 404)
        #expect(HTTPExchange.respond(method: "POST", path: "/metrics", metrics: { [] }).status == 405)
        let head = String(decoding: HTTPExchange.serialize(.init(status: 200, body: [0x41]), headOnly: true), as: UTF8.self)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("Content-Length: 1\r\n") && head.hasSuffix("\r\n\r\n"))
    }

    @Test("--listen addresses")
    func listen() throws {
        #expect(try ListenAddress(parsing: "127.0.0.1:9464") == ListenAddress(host: "127.0.0.1", port: 9464))
        #expect(try ListenAddress(parsing: "[::1]:0") == ListenAddress(host: "::1", port: 0))
        #expect(try ListenAddress(parsing: ":9464").host == "")
        #expect(throws: FleetctlError.self) { try ListenAddress(parsing: "9464") }
        #expect(throws: FleetctlError.self) { try ListenAddress(parsing: "::1:9464") }
    }
}

@Suite("fleetctl's log lines")
struct FleetctlLogLineTests {
    let t0 = FleetTimestamp(rfc3339: "2026-11-29T05:00:00.120Z")!

    func line(_ text: String, _ format: LogFormat, level: FleetctlLog.Level = .info) -> String {
        String(decoding: FleetctlLog.bytes(text, level: level, format: format, at: t0), as: UTF8.self)
    }

    @Test("text is the line as written; logfmt and json split 'fleetctl <command>:' into logger and command")
    func forms() {
        #expect(line("fleetctl exporter: connected to 127.0.0.1:1883", .text) == "fleetctl exporter: connected to 127.0.0.1:1883\n")
        #expect(
            line("fleetctl exporter: connected to 127.0.0.1:1883", .logfmt, level: .warning)
                == "ts=2026-11-29T05:00:00.120Z level=warning logger=fleetctl msg=\"connected to 127.0.0.1:1883\" command=exporter\n")
        #expect(line("fleetctl: no broker", .logfmt, level: .error) == "ts=2026-11-29T05:00:00.120Z level=error logger=fleetctl msg=\"no broker\"\n")
        #expect(
            line("fleetctl events: not an event, on a b: c", .json)
                == #"{"command":"events","level":"info","logger":"fleetctl","msg":"not an event, on a b: c","ts":"2026-11-29T05:00:00.120Z"}"# + "\n")
        // Not of the form: the whole line is the message.
        #expect(line("fleetctl two words: x", .logfmt).contains(#"msg="fleetctl two words: x""#))
        #expect(line("usage: x\ny", .logfmt) == "ts=2026-11-29T05:00:00.120Z level=info logger=fleetctl msg=\"usage: x\\ny\"\n")
    }

    @Test("LOG_FORMAT: unset or empty is text, any case accepted, anything else refused")
    func setting() {
        #expect(FleetctlLog.format(environment: nil) == .text && FleetctlLog.format(environment: "") == .text)
        #expect(FleetctlLog.format(environment: "LogFmt") == .logfmt && FleetctlLog.format(environment: "json") == .json)
        #expect(FleetctlLog.format(environment: "yaml") == nil)
    }
}
