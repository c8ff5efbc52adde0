import HatchlingMetrics
import Testing

@Suite("MetricsCollector against fixture trees")
struct MetricsCollectorFixtureTests {
    func collector(_ tree: FixtureTree) -> MetricsCollector {
        MetricsCollector(root: tree.root, dataDirectory: "/data")
    }

    @Test("host figures come from the fixture's /proc, not the machine's")
    func hostFigures() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            let s = collector(tree).collect()
            #expect(s.hostUptimeSeconds == 912_345.2)
            #expect(s.load == [0.12, 0.30, 0.25])
            #expect(s.hostMemoryTotalBytes == 16_316_412 * 1024)
            #expect(s.hostMemoryAvailableBytes == 9_437_184 * 1024)
            #expect(s.hostCPUPercent == nil, "the first sample has nothing to compare with")
            #expect(s.processRSSBytes == 5_242_880)
            #expect(s.processThreads == 7)
            let uptime = try #require(s.containerUptimeSeconds)
            #expect(uptime >= 998 && uptime <= 1010)
            #expect(s.diskPath == "/data")
            #expect(s.diskTotalBytes != nil && s.diskFreeBytes != nil)
            #expect(s.problems.isEmpty, "\(s.problems)")
        }
    }

    @Test("cgroup v2 with a memory limit and a CPU quota")
    func v2Limited() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "1073741824", cpuMax: "150000 100000")
            let s = collector(tree).collect()
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
            #expect(s.containerMemoryWorkingSetBytes == 52_428_800, "memory.current less memory.stat's inactive_file")
            #expect(s.containerMemoryLimitBytes == 1_073_741_824)
            #expect(s.containerCPULimitCores == 1.5)
            #expect(s.containerCPUPercent == nil)
            #expect(s.problems.isEmpty, "\(s.problems)")
        }
    }

    @Test("cgroup v2 without limits: max means nil")
    func v2Unlimited() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            let s = collector(tree).collect()
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
            #expect(s.containerMemoryWorkingSetBytes == 52_428_800)
            #expect(s.containerMemoryLimitBytes == nil)
            #expect(s.containerCPULimitCores == nil)
        }
    }

    @Test("cgroup v1 with a memory limit and a CPU quota")
    func v1Limited() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV1(limitInBytes: "536870912", quota: "50000")
            let s = collector(tree).collect()
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
            #expect(s.containerMemoryWorkingSetBytes == 41_943_040, "usage_in_bytes less total_inactive_file, not the cgroup's own inactive_file")
            #expect(s.containerMemoryLimitBytes == 536_870_912)
            #expect(s.containerCPULimitCores == 0.5)
            #expect(s.problems.isEmpty, "\(s.problems)")
        }
    }

    @Test("cgroup v1 without limits: the huge 'unlimited' number and quota -1 mean nil")
    func v1Unlimited() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV1(limitInBytes: "9223372036854771712", quota: "-1")
            let s = collector(tree).collect()
            #expect(s.containerMemoryCurrentBytes == 73_400_320)
            #expect(s.containerMemoryWorkingSetBytes == 41_943_040)
            #expect(s.containerMemoryLimitBytes == nil)
            #expect(s.containerCPULimitCores == nil)
        }
    }

    @Test("hybrid: v1 memory and CPU are used when the unified hierarchy has no memory.current")
    func hybrid() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.write("/proc/self/cgroup", "5:memory:/user.slice\n4:cpu,cpuacct:/user.slice\n0::/user.slice\n")
            try tree.write(
                "/proc/self/mountinfo",
                """
                35 25 0:30 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
                36 25 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
                41 25 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

                """)
            try tree.write("/sys/fs/cgroup/unified/user.slice/cgroup.procs", "1\n")
            try tree.write("/sys/fs/cgroup/memory/user.slice/memory.usage_in_bytes", "1048576\n")
            try tree.write("/sys/fs/cgroup/memory/user.slice/memory.limit_in_bytes", "2097152\n")
            try tree.write("/sys/fs/cgroup/memory/user.slice/memory.stat", "cache 262144\ninactive_file 4096\ntotal_inactive_file 262144\n")
            // A unified hierarchy without the memory controller has no memory.stat; were one there,
            // it would not go with v1's usage.
            try tree.write("/sys/fs/cgroup/unified/user.slice/memory.stat", "inactive_file 1048576\n")
            try tree.write("/sys/fs/cgroup/cpu,cpuacct/user.slice/cpuacct.usage", "1000\n")
            try tree.write("/sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_quota_us", "200000\n")
            try tree.write("/sys/fs/cgroup/cpu,cpuacct/user.slice/cpu.cfs_period_us", "100000\n")
            let c = collector(tree)
            let s = c.collect()
            #expect(s.containerMemoryCurrentBytes == 1_048_576)
            #expect(s.containerMemoryLimitBytes == 2_097_152)
            #expect(s.containerMemoryWorkingSetBytes == 786_432, "v1's usage less v1's total_inactive_file")
            #expect(s.containerCPULimitCores == 2)
            #expect(s.problems.isEmpty, "\(s.problems)")
            try tree.write("/sys/fs/cgroup/cpu,cpuacct/user.slice/cpuacct.usage", "5000000\n")
            let second = c.collect()
            let percent = try #require(second.containerCPUPercent, "v1 cpuacct.usage deltas give a CPU percentage")
            #expect(percent > 0)
        }
    }

    @Test("more inactive file pages than usage (the two files are read a moment apart): a working set of 0")
    func workingSetFloor() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000")
            try tree.write("/sys/fs/cgroup/memory.stat", "anon 0\ninactive_file 73404416\n")
            let s = collector(tree).collect()
            #expect(s.containerMemoryWorkingSetBytes == 0)
            #expect(s.problems.isEmpty, "\(s.problems)")
        }
    }

    @Test("a second collection gives host CPU from /proc/stat deltas and container CPU from cpu.stat")
    func deltas() throws {
        try withFixtureTree { tree in
            try tree.writeProc()
            try tree.writeCgroupV2(memoryMax: "max", cpuMax: "max 100000", usageUsec: 1_000_000)
            let c = collector(tree)
            let first = c.collect()
            #expect(first.hostCPUPercent == nil)
            #expect(first.containerCPUPercent == nil)
            // 1000 more ticks, of which 150 busy: 15 %.
            try tree.rewriteStat(user: 200, system: 100, idle: 1600, iowait: 100)
            try tree.writeCPUStat(usageUsec: 1_500_000)
            let second = c.collect()
            #expect(second.hostCPUPercent == 15)
            let container = try #require(second.containerCPUPercent)
            #expect(container > 0)
            // Nothing changed since: no host time passed (nil), no container CPU used (0).
            let third = c.collect()
            #expect(third.hostCPUPercent == nil)
            #expect(third.containerCPUPercent == 0)
        }
    }
}
