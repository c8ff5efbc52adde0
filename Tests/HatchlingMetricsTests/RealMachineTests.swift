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

    /// This process's memory cgroup, found here without the parsers under test: the v1 `memory`
    /// line of /proc/self/cgroup below /sys/fs/cgroup/memory, else the unified line below
    /// /sys/fs/cgroup (with the usage file and the key of its memory.stat); nil when neither is there.
    static func memoryCgroup() -> (usage: String, stat: String, key: String)? {
        guard let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) else { return nil }
        let lines = text.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false) }
        if let v1 = lines.first(where: { $0.count == 3 && $0[1].split(separator: ",").contains("memory") }) {
            let directory = "/sys/fs/cgroup/memory" + (v1[2] == "/" ? "" : v1[2])
            if FileManager.default.fileExists(atPath: directory + "/memory.usage_in_bytes") {
                return (directory + "/memory.usage_in_bytes", directory + "/memory.stat", "total_inactive_file")
            }
        }
        if let v2 = lines.first(where: { $0.count == 3 && $0[0] == "0" }) {
            let directory = "/sys/fs/cgroup" + (v2[2] == "/" ? "" : v2[2])
            if FileManager.default.fileExists(atPath: directory + "/memory.current") {
                return (directory + "/memory.current", directory + "/memory.stat", "inactive_file")
            }
        }
        return nil
    }

    /// Usage less the inactive file pages, from the files read directly.
    static func workingSetFromFiles(_ cgroup: (usage: String, stat: String, key: String)) throws -> UInt64 {
        let usage = try #require(UInt64(try String(contentsOfFile: cgroup.usage, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let stat = try String(contentsOfFile: cgroup.stat, encoding: .utf8)
        let line = try #require(stat.split(separator: "\n").first { $0.hasPrefix(cgroup.key + " ") }, "no \(cgroup.key) in \(cgroup.stat)")
        let inactive = try #require(UInt64(line.split(separator: " ")[1]))
        return usage > inactive ? usage - inactive : 0
    }

    @Test(
        "the real cgroup: the working set is usage less inactive file pages, as the files read directly say; memory.stat stays open",
        .enabled(if: RealMachineTests.memoryCgroup() != nil, "no memory cgroup found below /sys/fs/cgroup"))
    func realWorkingSet() throws {
        let cgroup = try #require(Self.memoryCgroup())
        let collector = MetricsCollector(root: "/", dataDirectory: "/tmp")
        let before = try Self.workingSetFromFiles(cgroup)
        let snapshot = collector.collect()
        let after = try Self.workingSetFromFiles(cgroup)
        #expect(!snapshot.problems.contains { $0.contains("memory.stat") }, "\(snapshot.problems)")
        let ours = try #require(snapshot.containerMemoryWorkingSetBytes)
        let current = try #require(snapshot.containerMemoryCurrentBytes)
        #expect(ours <= current)
        // The cgroup's memory moves between the reads (other tests run beside this one): within
        // 16 MiB of the range the direct reads span.
        let slack: UInt64 = 16 << 20
        #expect(ours + slack >= min(before, after) && ours <= max(before, after) + slack, "\(ours) vs \(before)...\(after)")
        // Kept open like the other cgroup files: a descriptor of this process links to it.
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")
        let targets = descriptors.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
        #expect(targets.contains(cgroup.stat), "no descriptor of \(cgroup.stat) among \(targets)")
        withExtendedLifetime(collector) {}
    }
}
