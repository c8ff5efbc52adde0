import FleetProtocol
import Foundation
import Testing

/// `container.mem_working_set_bytes` was added within protocol version 1: a hub built before it
/// must still read today's heartbeats, and today's hub must read the heartbeats of older agents.
@Suite("Heartbeat: the working set is an additive field")
struct HeartbeatCompatibilityTests {
    /// A copy of `Heartbeat.ContainerSection` as it was before `memWorkingSetBytes`: what an older
    /// hub decodes a heartbeat's container section into.
    struct OldContainerSection: Codable, Equatable {
        @Nullable var uptimeS: Double?
        @Nullable var memCurrentBytes: UInt64?
        @Nullable var memLimitBytes: UInt64?
        @Nullable var cpuPct: Double?
        @Nullable var cpuLimitCores: Double?
        @Nullable var oomKills: UInt64?
        @Nullable var netRxBytes: UInt64?
        @Nullable var netTxBytes: UInt64?
    }

    /// The heartbeat as an older hub declares it (the other sections have not changed).
    struct OldHeartbeat: Codable, Equatable {
        var v: Int
        var hatchling: HatchlingName
        var bootId: String
        var seq: UInt64
        var ts: FleetTimestamp
        var intervalS: Int
        var health: HealthStatus
        var agent: Heartbeat.AgentSection
        var host: Heartbeat.HostSection
        var container: OldContainerSection
        var disk: Heartbeat.DiskSection
        var gateway: Heartbeat.GatewaySection
    }

    static func golden() throws -> [UInt8] {
        try GoldenFileTests.golden("heartbeat")
    }

    @Test("an older hub's decoder (JSONDecoder, old ContainerSection) reads a heartbeat with the new field, every other figure intact")
    func oldHubReadsNewHeartbeat() throws {
        let bytes = try Self.golden()
        #expect(String(decoding: bytes, as: UTF8.self).contains(#""mem_working_set_bytes":52428800"#))
        let expected = GoldenValues.heartbeat.container
        let old = OldContainerSection(
            uptimeS: expected.uptimeS, memCurrentBytes: expected.memCurrentBytes, memLimitBytes: expected.memLimitBytes,
            cpuPct: expected.cpuPct, cpuLimitCores: expected.cpuLimitCores, oomKills: expected.oomKills,
            netRxBytes: expected.netRxBytes, netTxBytes: expected.netTxBytes)
        // Through the hub's own entry point, and through a bare JSONDecoder as another hub might.
        let viaFleetJSON = try FleetJSON.decode(OldHeartbeat.self, from: bytes)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let viaDecoder = try decoder.decode(OldHeartbeat.self, from: Data(bytes))
        for beat in [viaFleetJSON, viaDecoder] {
            #expect(beat.container == old)
            #expect(beat.v == 1 && beat.seq == GoldenValues.heartbeat.seq && beat.host == GoldenValues.heartbeat.host)
            #expect(beat.disk == GoldenValues.heartbeat.disk && beat.gateway == GoldenValues.heartbeat.gateway)
        }
        // And what such a hub writes back (a status-report it relays) is still today's contract, with null.
        let reread = try FleetJSON.decode(Heartbeat.self, from: try FleetJSON.encode(viaFleetJSON))
        #expect(reread.container.memWorkingSetBytes == nil)
        #expect(reread.container.memCurrentBytes == expected.memCurrentBytes)
    }

    @Test("a heartbeat of an older agent (no mem_working_set_bytes key): the fast reader reads it, as null, as the decoder does")
    func newHubReadsOldHeartbeat() throws {
        let text = String(decoding: try Self.golden(), as: UTF8.self)
        let old = text.replacing(#""mem_working_set_bytes":52428800,"#, with: "")
        #expect(old != text)
        let bytes = Array(old.utf8)
        let fast = try #require(Heartbeat.read(bytes), "the fast reader gave up: every older agent's heartbeat would go to JSONDecoder")
        #expect(fast.container.memWorkingSetBytes == nil)
        #expect(fast == (try FleetJSON.decode(Heartbeat.self, from: bytes)))
        var expected = GoldenValues.heartbeat
        expected.container.memWorkingSetBytes = nil
        #expect(fast == expected)
    }

    @Test("the new key is read by the fast reader, set or null")
    func fastReaderReadsNewKey() throws {
        let text = String(decoding: try Self.golden(), as: UTF8.self)
        let read = try #require(Heartbeat.read(Array(text.utf8)))
        #expect(read.container.memWorkingSetBytes == 52_428_800)
        let null = text.replacing(#""mem_working_set_bytes":52428800"#, with: #""mem_working_set_bytes":null"#)
        let readNull = try #require(Heartbeat.read(Array(null.utf8)))
        #expect(readNull.container.memWorkingSetBytes == nil)
        let wrong = text.replacing(#""mem_working_set_bytes":52428800"#, with: #""mem_working_set_bytes":-1"#)
        #expect(Heartbeat.read(Array(wrong.utf8)) == nil, "a negative figure is left to the decoder")
    }
}
