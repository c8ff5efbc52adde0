import FleetProtocol
import Testing

@testable import HatchlingAgent

@Suite("HTTPProbe against a server on 127.0.0.1")
struct HTTPProbeTests {
    func url(_ port: UInt16, _ path: String = "/health") throws -> HTTPURL {
        try #require(HTTPURL("http://127.0.0.1:\(port)\(path)"))
    }

    @Test("200 OK is healthy; the request is a plain HTTP/1.0 GET of the path")
    func ok() async throws {
        try await withHTTPServer(.reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")) { server in
            let result = HTTPProbe.get(try url(server.port, "/health?deep=1"), timeout: 2)
            #expect(result.ok)
            #expect(result.httpStatus == 200)
            #expect(result.error == nil)
            #expect((result.latencyMs ?? -1) >= 0)
            let request = try #require(server.requests.first)
            #expect(request.hasPrefix("GET /health?deep=1 HTTP/1.0\r\n"))
            #expect(request.contains("\r\nHost: 127.0.0.1:\(server.port)\r\n"))
        }
    }

    @Test("each probe is its own connection")
    func severalProbes() async throws {
        try await withHTTPServer(.reply("HTTP/1.0 204 No Content\r\n\r\n")) { server in
            let results = try (0..<3).map { _ in HTTPProbe.get(try url(server.port), timeout: 2) }
            #expect(results.allSatisfy { $0.ok && $0.httpStatus == 204 })
            #expect(server.requests.count == 3)
        }
    }

    @Test("503 is reached but not healthy", arguments: [503, 301, 404])
    func notOK(_ status: Int) async throws {
        try await withHTTPServer(.reply("HTTP/1.1 \(status) Whatever\r\nContent-Length: 0\r\n\r\n")) { server in
            let result = HTTPProbe.get(try url(server.port), timeout: 2)
            #expect(!result.ok)
            #expect(result.httpStatus == status)
            #expect(result.error == "http status \(status)")
        }
    }

    @Test("a closed port: connection refused")
    func refused() throws {
        let result = HTTPProbe.get(try url(try closedPort()), timeout: 2)
        #expect(!result.ok)
        #expect(result.httpStatus == nil)
        #expect(result.error == "connection refused")
    }

    @Test("a server that accepts and never answers: timeout")
    func silent() async throws {
        try await withHTTPServer(.silent) { server in
            let result = HTTPProbe.get(try url(server.port), timeout: 0.5)
            #expect(!result.ok)
            #expect(result.httpStatus == nil)
            #expect(result.error == "timeout")
        }
    }

    @Test("a reply that is not HTTP, or none at all")
    func badReplies() async throws {
        try await withHTTPServer(.reply("hello there\r\n\r\n")) { server in
            let result = HTTPProbe.get(try url(server.port), timeout: 2)
            #expect(!result.ok)
            #expect(result.error == "bad response")
        }
        try await withHTTPServer(.hangUp) { server in
            let result = HTTPProbe.get(try url(server.port), timeout: 2)
            #expect(!result.ok)
            #expect(result.error == "closed without a response")
        }
    }

    @Test("the status line parser")
    func statusLine() {
        #expect(HTTPProbe.parseStatusLine(Array("HTTP/1.1 200 OK\r".utf8)[...]) == 200)
        #expect(HTTPProbe.parseStatusLine(Array("HTTP/1.0 503".utf8)[...]) == 503)
        #expect(HTTPProbe.parseStatusLine(Array("HTTP/1.1 20 OK".utf8)[...]) == nil)
        #expect(HTTPProbe.parseStatusLine(Array("SMTP 220 ready".utf8)[...]) == nil)
        #expect(HTTPProbe.parseStatusLine(Array("".utf8)[...]) == nil)
    }

    @Test("GatewayMonitor remembers the last probe; before any, the section says so")
    func monitor() async throws {
        let monitor = GatewayMonitor()
        #expect(monitor.lastResult == nil)
        #expect(GatewayMonitor.section(for: nil) == Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: nil, error: "not probed yet"))
        try await withHTTPServer(.reply("HTTP/1.1 200 OK\r\n\r\n")) { server in
            let result = await monitor.probe(try url(server.port))
            #expect(result.ok)
            #expect(monitor.lastResult == result)
            let section = GatewayMonitor.section(for: result)
            #expect(section.ok && section.httpStatus == 200 && section.error == nil)
        }
    }
}
