import FleetProtocol
import Foundation
import Testing

/// `Heartbeat.read` and `StatusPayload.read` against `JSONDecoder`: whatever a fast reader reads,
/// the decoder reads the same; on the contract's own payloads the fast reader reads.
@Suite("Fast payload readers agree with JSONDecoder")
struct PayloadReaderTests {
    static func golden(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name).json")
        return Array(try Data(contentsOf: url))
    }

    /// Never different: nil, or what the decoder makes of the same bytes.
    static func agree<T: Decodable & Equatable>(_ fast: T?, _ type: T.Type, _ bytes: [UInt8]) -> Bool {
        guard let fast else { return true }
        return (try? FleetJSON.decode(type, from: bytes)) == fast
    }

    @Test("golden payloads: read, and equal to the decoder's")
    func golden() throws {
        let beat = try Self.golden("heartbeat")
        let read = try #require(Heartbeat.read(beat))
        #expect(read == (try FleetJSON.decode(Heartbeat.self, from: beat)))
        for name in ["status-online", "status-offline-lost", "status-offline-shutdown"] {
            let bytes = try Self.golden(name)
            let status = try #require(StatusPayload.read(bytes), "\(name)")
            #expect(status == (try FleetJSON.decode(StatusPayload.self, from: bytes)), "\(name)")
        }
    }

    @Test("payloads as the agent writes them, with every figure absent, null or set: read, and equal to the decoder's")
    func written() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<300 {
            func maybe<T>(_ value: T) -> T? { Bool.random(using: &generator) ? value : nil }
            let beat = Heartbeat(
                hatchling: try HatchlingName(validating: "h-\(round)"), bootId: String(repeating: "ab", count: 16),
                seq: UInt64(round) * 1_000_000_007,
                ts: FleetTimestamp(millisecondsSinceEpoch: 1_780_000_000_000 + Int64(round)), intervalS: 30,
                health: HealthStatus.allCases.randomElement()!,
                agent: .init(
                    version: "1.0.\(round)", uptimeS: maybe(Double(round) / 7), rssBytes: maybe(UInt64.max - UInt64(round)), threads: maybe(7),
                    openFds: maybe(12)),
                host: .init(
                    uptimeS: maybe(1e9 / Double(round + 1)), load: maybe([0.5, 1e-5, 123.25]), memTotalBytes: maybe(1 << 34),
                    memAvailableBytes: maybe(5), cpuPct: maybe(99.9)),
                container: .init(
                    uptimeS: maybe(3), memCurrentBytes: maybe(10), memLimitBytes: maybe(20), cpuPct: maybe(-0.0), cpuLimitCores: maybe(2.5),
                    oomKills: maybe(0), netRxBytes: maybe(1), netTxBytes: maybe(2), memWorkingSetBytes: maybe(7)),
                disk: .init(path: "/data/é \(round)", totalBytes: maybe(100), freeBytes: maybe(50)),
                gateway: .init(
                    ok: Bool.random(using: &generator), httpStatus: maybe(200), latencyMs: maybe(-1), error: maybe("connection refused"),
                    ageS: maybe(0.25)))
            let bytes = FleetJSON.encode(beat)
            #expect(Heartbeat.read(bytes) == beat, "\(String(decoding: bytes, as: UTF8.self))")
            #expect(try FleetJSON.decode(Heartbeat.self, from: bytes) == beat)
            let status =
                Bool.random(using: &generator)
                ? StatusPayload.online(bootId: "b\(round)", at: beat.ts, agentVersion: "1.0.0", heartbeatIntervalS: round)
                : StatusPayload.lost(bootId: "b\(round)")
            // A backslash anywhere (an escape) is left to the decoder, which reads it the same.
            var quoted = beat
            quoted.disk.path = "/data \"quoted\""
            let quotedBytes = FleetJSON.encode(quoted)
            #expect(Heartbeat.read(quotedBytes) == nil)
            #expect(try FleetJSON.decode(Heartbeat.self, from: quotedBytes) == quoted)
            let statusBytes = FleetJSON.encode(status)
            #expect(StatusPayload.read(statusBytes) == status, "\(String(decoding: statusBytes, as: UTF8.self))")
        }
    }

    @Test("mutated payloads (a value replaced by another JSON type, a key dropped or doubled): the fast reader gives up or agrees, never differs")
    func mutated() throws {
        let replacements = [
            "null", "1", "-1", "1.0", "1e3", "\"x\"", "\"2026-01-01T00:00:00Z\"", "true", "[]", "{}", "[1,\"a\"]", "18446744073709551616",
            "\"health-check\"",
        ]
        for name in ["heartbeat", "status-online", "status-offline-lost"] {
            let text = String(decoding: try Self.golden(name), as: UTF8.self)
            // Every `"key": value` of the document, by a crude split on the keys' quotes.
            let keys = Set(text.matches(of: /"([a-z_]+)":/).map { String($0.output.1) })
            for key in keys {
                for replacement in replacements {
                    guard let range = text.firstRange(of: try Regex("\"\(key)\":(\"[^\"]*\"|[^,}\\]\\[{]+|\\[[^\\]]*\\])")) else { continue }
                    let mutated = Array(text.replacingCharacters(in: range, with: "\"\(key)\":\(replacement)").utf8)
                    #expect(Self.agree(Heartbeat.read(mutated), Heartbeat.self, mutated), "\(name) \(key)=\(replacement)")
                    #expect(Self.agree(StatusPayload.read(mutated), StatusPayload.self, mutated), "\(name) \(key)=\(replacement)")
                }
                let dropped = Array(text.replacingOccurrences(of: "\"\(key)\":", with: "\"x_\(key)\":").utf8)
                #expect(Self.agree(Heartbeat.read(dropped), Heartbeat.self, dropped), "\(name) without \(key)")
                #expect(Self.agree(StatusPayload.read(dropped), StatusPayload.self, dropped), "\(name) without \(key)")
            }
            let doubled = Array((String(text.dropLast()) + ",\"v\":2}").utf8)
            #expect(Heartbeat.read(doubled) == nil && StatusPayload.read(doubled) == nil, "a key twice is left to the decoder")
        }
    }
}
