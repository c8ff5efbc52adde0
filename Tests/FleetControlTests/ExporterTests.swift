import FleetProtocol
import MosquittoClient
import Testing

@testable import FleetControl

@Suite("Exporter: exposition and the small HTTP server's parsing")
struct ExporterTests {
    func render(_ messages: [MQTTMessage], at seconds: Double = 5) -> String {
        var view = FleetView(root: "fleet")
        for message in messages { view.apply(message) }
        return String(decoding: MetricsRenderer.render(view.summaries(now: Fixture.t0.adding(seconds: seconds)), brokerConnected: true), as: UTF8.self)
    }

    @Test("an online hatchling has every gauge with HELP and TYPE; a stale one only hatchling_up 0 and its info")
    func gauges() {
        let text = render([
            Fixture.message("fleet/mason/status", Fixture.online()), Fixture.message("fleet/mason/heartbeat", Fixture.heartbeat("mason")),
            Fixture.message("fleet/finch/status", Fixture.online()),
            Fixture.message("fleet/finch/heartbeat", Fixture.heartbeat("finch", at: Fixture.t0.adding(seconds: -100))),
        ])
        for (name, _) in MetricsRenderer.help {
            #expect(text.contains("# HELP \(name) ") && text.contains("# TYPE \(name) gauge"), "\(name)")
        }
        #expect(text.contains(#"hatchling_up{hatchling="mason"} 1.0"#))
        #expect(text.contains(#"hatchling_memory_current_bytes{hatchling="mason"} 104857600.0"#))
        #expect(text.contains(#"hatchling_memory_limit_bytes{hatchling="mason"} 419430400.0"#))
        #expect(text.contains(#"hatchling_heartbeat_age_seconds{hatchling="mason"} 5.0"#))
        #expect(text.contains(#"hatchling_up{hatchling="finch"} 0.0"#))
        let finch = text.split(separator: "\n").filter { $0.contains(#"hatchling="finch""#) }
        #expect(finch.count == 2 && finch.allSatisfy { $0.hasPrefix("hatchling_up") || $0.hasPrefix("hatchling_info") }, "\(finch)")
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
