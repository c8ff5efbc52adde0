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
}
