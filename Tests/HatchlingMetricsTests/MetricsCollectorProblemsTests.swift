import Foundation
import HatchlingMetrics
import Testing

@Suite("MetricsCollector when files are missing or garbage")
struct MetricsCollectorProblemsTests {
    @Test("an empty tree: every figure nil, each missing file listed, nothing crashes")
    func missingFiles() throws {
        try withFixtureTree { tree in
            try tree.makeDirectory("/data")
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.hostUptimeSeconds == nil)
            #expect(s.load == nil)
            #expect(s.hostMemoryTotalBytes == nil)
            #expect(s.hostMemoryAvailableBytes == nil)
            #expect(s.hostCPUPercent == nil)
            #expect(s.containerUptimeSeconds == nil)
            #expect(s.containerMemoryCurrentBytes == nil)
            #expect(s.containerMemoryWorkingSetBytes == nil)
            #expect(s.containerMemoryLimitBytes == nil)
            #expect(s.containerCPUPercent == nil)
            #expect(s.containerCPULimitCores == nil)
            #expect(s.processRSSBytes == nil)
            #expect(s.processThreads == nil)
            // The data directory exists: its file system is still measured.
            #expect(s.diskTotalBytes != nil)
            for file in ["/proc/uptime", "/proc/loadavg", "/proc/meminfo", "/proc/stat", "/proc/self/cgroup"] {
                #expect(s.problems.contains { $0.contains(file) }, "\(file) not in \(s.problems)")
            }
        }
    }

    @Test("a data directory that does not exist: disk figures nil, statvfs listed")
    func missingDataDirectory() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            let s = MetricsCollector(root: tree.root, dataDirectory: "/nowhere").collect()
            #expect(s.diskPath == "/nowhere")
            #expect(s.diskTotalBytes == nil)
            #expect(s.diskFreeBytes == nil)
            #expect(s.problems.contains("/nowhere: statvfs failed"))
            #expect(s.hostUptimeSeconds == 912_345.2, "other figures are still read")
        }
    }

    @Test("collect(dataDirectory:) measures the directory given (after a reload)")
    func dataDirectoryOverride() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.makeDirectory("/other")
            let s = MetricsCollector(root: tree.root, dataDirectory: "/nowhere").collect(dataDirectory: "/other")
            #expect(s.diskPath == "/other")
            #expect(s.diskTotalBytes != nil)
        }
    }

    @Test("garbage in /proc: figures nil, each problem names the file and line")
    func garbageProc() throws {
        try withFixtureTree { tree in
            try tree.makeDirectory("/data")
            for file in ["/proc/uptime", "/proc/loadavg", "/proc/meminfo", "/proc/stat", "/proc/self/cgroup", "/proc/self/mountinfo"] {
                try tree.write(file, "garbage\n")
            }
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.hostUptimeSeconds == nil)
            #expect(s.load == nil)
            #expect(s.hostMemoryTotalBytes == nil)
            #expect(s.hostCPUPercent == nil)
            #expect(s.containerMemoryCurrentBytes == nil)
            for file in ["/proc/uptime:1:", "/proc/loadavg:1:", "/proc/meminfo:1:", "/proc/stat:1:", "/proc/self/cgroup:1:"] {
                #expect(s.problems.contains { $0.hasPrefix(file) }, "\(file) not in \(s.problems)")
            }
        }
    }

    @Test("garbage in PID 1's stat: no container uptime, the file is named")
    func garbagePid1() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            try tree.write("/proc/1/stat", "garbage")
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.containerUptimeSeconds == nil)
            #expect(s.problems.contains { $0.hasPrefix("/proc/1/stat:1:") }, "\(s.problems)")
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
        }
    }

    @Test("garbage in a mountinfo line: the line is named and cgroup figures are nil")
    func garbageMountinfoLine() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            try tree.write("/proc/self/mountinfo", FixtureTree.v2Mountinfo + "what is this\n")
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.containerMemoryCurrentBytes == nil)
            #expect(s.problems.contains { $0.hasPrefix("/proc/self/mountinfo:3:") }, "\(s.problems)")
        }
    }

    /// `collect()` promises: "what cannot be read is nil and listed in `problems`". A garbage
    /// `memory.max` must not silently read as "no limit", nor a garbage VmRSS vanish.
    @Test("garbage in a cgroup value file or in /proc/self/status: nil, and listed in problems")
    func garbageCgroupAndStatus() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "lots", cpuMax: "half 100000")
            try tree.write("/proc/self/status", "Name:\tx\nVmRSS:\tlots kB\nThreads:\t7\n")
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.containerMemoryLimitBytes == nil)
            #expect(s.containerCPULimitCores == nil)
            #expect(s.processRSSBytes == nil)
            #expect(s.processThreads == 7)
            #expect(s.problems.contains { $0.hasPrefix("/sys/fs/cgroup/memory.max:1:") }, "\(s.problems)")
            #expect(s.problems.contains { $0.hasPrefix("/sys/fs/cgroup/cpu.max:1:") }, "\(s.problems)")
            #expect(s.problems.contains { $0.hasPrefix("/proc/self/status:2:") }, "\(s.problems)")
        }
    }

    @Test("memory.stat missing (v2, v1): no working set, the file named; usage and the rest still read", arguments: [2, 1])
    func missingMemoryStat(_ version: Int) throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            let stat: String
            if version == 2 {
                try tree.writeCgroupV2(memoryMax: "1073741824", cpuMax: "max 100000")
                stat = "/sys/fs/cgroup/memory.stat"
            } else {
                try tree.writeCgroupV1(limitInBytes: "536870912", quota: "-1")
                stat = "/sys/fs/cgroup/memory/memory.stat"
            }
            try FileManager.default.removeItem(atPath: tree.root + stat)
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.containerMemoryWorkingSetBytes == nil)
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
            #expect(s.containerMemoryLimitBytes != nil)
            #expect(s.hostUptimeSeconds == 912_345.2)
            #expect(s.problems == ["\(stat): cannot be read"], "\(s.problems)")
        }
    }

    @Test("memory.stat without the line (v2 inactive_file; v1 total_inactive_file, its own inactive_file is not enough): nil, and said")
    func memoryStatWithoutTheLine() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            try tree.write("/sys/fs/cgroup/memory.stat", "anon 1\nfile 2\ninactive_filex 3\nactive_file 4\n")
            let v2 = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(v2.containerMemoryWorkingSetBytes == nil)
            #expect(v2.containerMemoryCurrentBytes == 73_400_320)
            #expect(v2.problems == ["/sys/fs/cgroup/memory.stat: no inactive_file line"], "\(v2.problems)")
        }
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV1(limitInBytes: "536870912", quota: "-1")
            try tree.write("/sys/fs/cgroup/memory/memory.stat", "cache 1\ninactive_file 10485760\n")
            let v1 = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(v1.containerMemoryWorkingSetBytes == nil)
            #expect(v1.problems == ["/sys/fs/cgroup/memory/memory.stat: no total_inactive_file line"], "\(v1.problems)")
        }
    }

    @Test("garbage in memory.stat: nil, the file and line named; an empty file lacks the line")
    func garbageMemoryStat() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            try tree.write("/sys/fs/cgroup/memory.stat", "anon 1\nfile 2\ninactive_file lots\n")
            let collector = MetricsCollector(root: tree.root, dataDirectory: "/data")
            let s = collector.collect()
            #expect(s.containerMemoryWorkingSetBytes == nil)
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
            #expect(s.problems.count == 1 && s.problems[0].hasPrefix("/sys/fs/cgroup/memory.stat:3:"), "\(s.problems)")
            try tree.write("/sys/fs/cgroup/memory.stat", "\u{0}\u{FF}garbage\n\n")
            let binary = collector.collect()
            #expect(binary.containerMemoryWorkingSetBytes == nil)
            #expect(binary.problems == ["/sys/fs/cgroup/memory.stat: no inactive_file line"], "\(binary.problems)")
            try tree.write("/sys/fs/cgroup/memory.stat", "")
            #expect(collector.collect().problems == ["/sys/fs/cgroup/memory.stat: no inactive_file line"])
            try tree.write("/sys/fs/cgroup/memory.stat", FixtureTree.v2MemoryStat)
            let mended = collector.collect()
            #expect(mended.containerMemoryWorkingSetBytes == 52_428_800, "a fixture tree is read afresh each time")
            #expect(mended.problems.isEmpty, "\(mended.problems)")
        }
    }

    @Test("no usage (garbage memory.current): no working set either, and memory.stat is not blamed")
    func noUsage() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            try tree.write("/sys/fs/cgroup/memory.current", "lots\n")
            let s = MetricsCollector(root: tree.root, dataDirectory: "/data").collect()
            #expect(s.containerMemoryCurrentBytes == nil)
            #expect(s.containerMemoryWorkingSetBytes == nil)
            #expect(s.problems.count == 1 && s.problems[0].hasPrefix("/sys/fs/cgroup/memory.current:1:"), "\(s.problems)")
        }
    }
}
