import FleetProtocol
import Testing

@Suite("Null figures")
struct NullableTests {
    func text<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try FleetJSON.encode(value), as: UTF8.self)
    }

    @Test("a figure that could not be read is written as an explicit null key")
    func encodesNull() throws {
        let section = Heartbeat.ContainerSection(uptimeS: nil, memCurrentBytes: nil, memLimitBytes: nil, cpuPct: nil, cpuLimitCores: nil)
        #expect(
            try text(section)
                == #"{"cpu_limit_cores":null,"cpu_pct":null,"mem_current_bytes":null,"mem_limit_bytes":null,"mem_working_set_bytes":null,"net_rx_bytes":null,"net_tx_bytes":null,"oom_kills":null,"uptime_s":null}"#
        )
        let version = VersionReport(agent: "1.0.0", openclaw: nil, image: nil)
        #expect(try text(version) == #"{"agent":"1.0.0","image":null,"openclaw":null,"protocol":1}"#)
    }

    @Test("a missing nullable key decodes as nil; present values decode as themselves")
    func missingDecodesNil() throws {
        let section = try FleetJSON.decode(Heartbeat.ContainerSection.self, from: Array(#"{"uptime_s": 12.5, "mem_limit_bytes": 1024}"#.utf8))
        #expect(section == Heartbeat.ContainerSection(uptimeS: 12.5, memCurrentBytes: nil, memLimitBytes: 1024, cpuPct: nil, cpuLimitCores: nil))
        let empty = try FleetJSON.decode(Heartbeat.HostSection.self, from: Array("{}".utf8))
        #expect(empty == Heartbeat.HostSection(uptimeS: nil, load: nil, memTotalBytes: nil, memAvailableBytes: nil, cpuPct: nil))
    }

    @Test("the golden heartbeat without its mem_limit_bytes key still decodes, with no limit")
    func heartbeatWithoutKey() throws {
        let golden = String(decoding: try GoldenFileTests.golden("heartbeat"), as: UTF8.self)
        let trimmed = golden.replacing(#""mem_limit_bytes":null,"#, with: "")
        #expect(trimmed != golden)
        let decoded = try FleetJSON.decode(Heartbeat.self, from: Array(trimmed.utf8))
        #expect(decoded == GoldenValues.heartbeat)
        #expect(decoded.container.memLimitBytes == nil)
    }

    @Test("a required key that is missing still fails to decode")
    func requiredKeyMissing() {
        #expect(throws: (any Error).self) {
            try FleetJSON.decode(Heartbeat.DiskSection.self, from: Array(#"{"total_bytes": 1, "free_bytes": 1}"#.utf8))
        }
    }

    @Test("the gateway's error phrase is left out when the probe worked")
    func gatewayError() throws {
        #expect(try text(Heartbeat.GatewaySection(ok: true, httpStatus: 200, latencyMs: 4)) == #"{"http_status":200,"latency_ms":4,"ok":true}"#)
        let down = Heartbeat.GatewaySection(ok: false, httpStatus: nil, latencyMs: nil, error: "connection refused")
        #expect(try text(down) == #"{"error":"connection refused","http_status":null,"latency_ms":null,"ok":false}"#)
    }
}
