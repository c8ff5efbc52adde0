import Foundation
import HatchlingMetrics
import Testing

@Suite("MetricsCollector on this machine")
struct RealMachineTests {
    /// MemTotal in bytes, read here without the parsers under test.
    static func memTotalFromProc() throws -> UInt64 {
        let text = try String(contentsOfFile: "/proc/meminfo", encoding: .utf8)
        let line = try #require(text.components(separatedBy: "\n").first { $0.hasPrefix("MemTotal:") })
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        #expect(fields.last == "kB")
        return try #require(UInt64(fields[1])) * 1024
    }

    @Test("the real /proc: memory total as in /proc/meminfo, load, disk and RSS")
    func realMachine() throws {
        let snapshot = MetricsCollector(root: "/", dataDirectory: "/tmp").collect()
        #expect(snapshot.hostMemoryTotalBytes == (try Self.memTotalFromProc()))
        let load = try #require(snapshot.load)
        #expect(load.count == 3)
        #expect(load.allSatisfy { $0 >= 0 })
        let total = try #require(snapshot.diskTotalBytes)
        let free = try #require(snapshot.diskFreeBytes)
        #expect(total > 0 && free <= total)
        let rss = try #require(snapshot.processRSSBytes)
        #expect(rss > 0)
        #expect((snapshot.hostUptimeSeconds ?? 0) > 0)
        #expect(snapshot.diskPath == "/tmp")
    }
}
