import FleetProtocol
import Foundation
import Testing

/// Each golden file is checked both ways: the value encodes to exactly the file's bytes, and the
/// file's bytes decode to exactly the value. The files have no trailing newline.
@Suite("Golden payloads")
struct GoldenFileTests {
    static func golden(_ name: String) throws -> [UInt8] {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Golden"), "missing Golden/\(name).json")
        return Array(try Data(contentsOf: url))
    }

    func check<T: Codable & Equatable>(_ value: T, against name: String) throws {
        if ProcessInfo.processInfo.environment["GOLDEN_REGENERATE"] == "1" {
            // After a deliberate payload change: rewrite the files, then read the diff by eye.
            let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name).json")
            try Data(try FleetJSON.encode(value)).write(to: url)
        }
        let golden = try Self.golden(name)
        #expect(golden.last != UInt8(ascii: "\n"), "Golden/\(name).json must not end with a newline")
        let encoded = try FleetJSON.encode(value)
        #expect(
            encoded == golden,
            "encoded:\n\(String(decoding: encoded, as: UTF8.self))\ngolden:\n\(String(decoding: golden, as: UTF8.self))")
        #expect(try FleetJSON.decode(T.self, from: golden) == value)
        // What the agent actually sends: the hand-written writer, byte for byte the same.
        let writable = try #require(value as? any JSONWritable, "\(T.self) has no JSONWriter form")
        var writer = JSONWriter()
        writable.write(to: &writer)
        #expect(
            writer.bytes == golden,
            "written:\n\(String(decoding: writer.bytes, as: UTF8.self))\ngolden:\n\(String(decoding: golden, as: UTF8.self))")
    }

    @Test func responseOkHealth() throws { try check(GoldenValues.responseOkHealth, against: "response-ok-health") }
    @Test func responseOkVersion() throws { try check(GoldenValues.responseOkVersion, against: "response-ok-version") }
    @Test func responseOkReload() throws { try check(GoldenValues.responseOkReload, against: "response-ok-reload") }
    @Test func responseOkStatus() throws { try check(GoldenValues.responseOkStatus, against: "response-ok-status") }
    @Test func responseError() throws { try check(GoldenValues.responseError, against: "response-error") }
    @Test func responsePlainText() throws { try check(GoldenValues.responsePlainText, against: "response-plain-text") }
    @Test func heartbeat() throws { try check(GoldenValues.heartbeat, against: "heartbeat") }
    @Test func statusOnline() throws { try check(GoldenValues.statusOnline, against: "status-online") }
    @Test func statusOfflineLost() throws { try check(GoldenValues.statusOfflineLost, against: "status-offline-lost") }
    @Test func statusOfflineShutdown() throws { try check(GoldenValues.statusOfflineShutdown, against: "status-offline-shutdown") }

    /// An event has no `Encodable` form (its data is raw JSON): the writer makes the file, `parse` reads it back.
    @Test func event() throws {
        let golden = try Self.golden("event")
        var writer = JSONWriter()
        GoldenValues.event.write(to: &writer)
        #expect(writer.bytes == golden, "written:\n\(String(decoding: writer.bytes, as: UTF8.self))")
        #expect(EventPayload.parse(golden) == GoldenValues.event)
    }

    /// The top-level keys of a golden file, read with Foundation's own parser (not FleetJSON).
    static func keys(_ name: String, in path: [String] = []) throws -> Set<String> {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(golden(name))) as? [String: Any])
        for step in path { object = try #require(object[step] as? [String: Any], "no object at \(step)") }
        return Set(object.keys)
    }

    @Test("responses carry the contract's keys; result and error exclude each other")
    func responseKeys() throws {
        let common: Set = ["v", "id", "hatchling", "command", "ok", "ts", "duration_ms"]
        for name in ["response-ok-health", "response-ok-version", "response-ok-reload", "response-ok-status"] {
            #expect(try Self.keys(name) == common.union(["result"]), "\(name)")
        }
        #expect(try Self.keys("response-error") == common.union(["error"]))
        #expect(try Self.keys("response-error", in: ["error"]) == ["code", "message"])
        #expect(try Self.keys("response-plain-text") == common.subtracting(["id"]).union(["result"]))
    }

    @Test("command results carry the contract's keys")
    func resultKeys() throws {
        #expect(try Self.keys("response-ok-health", in: ["result"]) == ["status", "checks"])
        #expect(try Self.keys("response-ok-health", in: ["result", "checks"]) == ["gateway", "bus", "memory", "disk"])
        #expect(try Self.keys("response-ok-health", in: ["result", "checks", "gateway"]) == ["ok", "http_status", "latency_ms"])
        #expect(try Self.keys("response-ok-version", in: ["result"]) == ["agent", "openclaw", "protocol", "image"])
        #expect(try Self.keys("response-ok-reload", in: ["result"]) == ["changed", "restart_required", "config_sha256"])
        let status = try Self.keys("response-ok-status", in: ["result"])
        #expect(status == (try Self.keys("heartbeat")).union(["counters"]))
    }

    @Test("the heartbeat carries every section and figure of the contract, nulls included")
    func heartbeatKeys() throws {
        #expect(
            try Self.keys("heartbeat") == [
                "v", "hatchling", "boot_id", "seq", "ts", "interval_s", "health", "agent", "host", "container", "disk", "gateway",
            ])
        #expect(try Self.keys("heartbeat", in: ["agent"]) == ["version", "uptime_s", "rss_bytes", "threads", "open_fds"])
        #expect(try Self.keys("heartbeat", in: ["host"]) == ["uptime_s", "load", "mem_total_bytes", "mem_available_bytes", "cpu_pct"])
        #expect(
            try Self.keys("heartbeat", in: ["container"]) == [
                "uptime_s", "mem_current_bytes", "mem_limit_bytes", "mem_working_set_bytes", "cpu_pct", "cpu_limit_cores", "oom_kills",
                "net_rx_bytes", "net_tx_bytes",
            ])
        #expect(try Self.keys("heartbeat", in: ["disk"]) == ["path", "total_bytes", "free_bytes"])
        let text = String(decoding: try Self.golden("heartbeat"), as: UTF8.self)
        #expect(text.contains(#""mem_limit_bytes":null"#))
        #expect(text.contains(#""cpu_limit_cores":null"#))
        #expect(text.contains(#""cpu_pct":null"#))
    }

    @Test("status payloads: online announces the run, the will has no time")
    func statusKeys() throws {
        #expect(
            try Self.keys("status-online") == [
                "v", "state", "ts", "boot_id", "agent_version", "protocol", "commands", "heartbeat_interval_s",
            ])
        #expect(try Self.keys("status-offline-lost") == ["v", "state", "reason", "boot_id"])
        #expect(try Self.keys("status-offline-shutdown") == ["v", "state", "reason", "ts", "boot_id"])
    }
}
