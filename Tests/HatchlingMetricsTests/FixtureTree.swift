import Foundation

/// A temporary directory that stands for `/`, with kernel files written into it by the test.
struct FixtureTree {
    let root: String

    /// Writes `text` at `absolute` below the root, creating the directories on the way.
    func write(_ absolute: String, _ text: String) throws {
        let url = URL(fileURLWithPath: root + absolute)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    func makeDirectory(_ absolute: String) throws {
        try FileManager.default.createDirectory(atPath: root + absolute, withIntermediateDirectories: true)
    }

    /// The files every collection reads from /proc, healthy and consistent.
    func writeProc(bootedSecondsAgo: Int = 1000) throws {
        let bootTime = Int(Date().timeIntervalSince1970) - bootedSecondsAgo
        try write("/proc/uptime", "912345.20 1800000.00\n")
        try write("/proc/loadavg", "0.12 0.30 0.25 1/234 5678\n")
        try write("/proc/meminfo", "MemTotal:       16316412 kB\nMemFree:         1234567 kB\nMemAvailable:    9437184 kB\n")
        try write("/proc/stat", Self.stat(user: 100, system: 50, idle: 800, iowait: 50, bootTime: bootTime))
        try write("/proc/self/status", "Name:\thatchling-agent\nVmRSS:\t    5120 kB\nThreads:\t7\n")
        try write("/proc/net/dev", Self.netDev)
        // PID 1 started at boot (tick 0): the container is as old as the boot.
        try write("/proc/1/stat", "1 (tini) S 0 1 1 0 -1 4194560 1000 0 0 0 10 5 0 0 20 0 1 0 0 100000 250 18446744073709551615\n")
        try makeDirectory("/data")
    }

    static let netDev = """
        Inter-|   Receive                                                |  Transmit
         face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
            lo: 11156798  101701    0    0    0     0          0         0 11156798  101701    0    0    0     0       0          0
          eth0:  1000000    2000    0    0    0     0          0         0   250000    1500    0    0    0     0       0          0
          eth1:      500       5    0    0    0     0          0         0      100       1    0    0    0     0       0          0

        """

    static func stat(user: Int, system: Int, idle: Int, iowait: Int, bootTime: Int) -> String {
        "cpu  \(user) 0 \(system) \(idle) \(iowait) 0 0 0 0 0\ncpu0 \(user) 0 \(system) \(idle) \(iowait) 0 0 0 0 0\nbtime \(bootTime)\n"
    }

    func rewriteStat(user: Int, system: Int, idle: Int, iowait: Int) throws {
        try write("/proc/stat", Self.stat(user: user, system: system, idle: idle, iowait: iowait, bootTime: Int(Date().timeIntervalSince1970) - 1000))
    }

    static let v2Mountinfo = """
        22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
        30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate

        """

    /// A cgroup v2 container at its namespace's root.
    func writeCgroupV2(memoryMax: String, cpuMax: String, usageUsec: Int = 1_000_000) throws {
        try write("/proc/self/cgroup", "0::/\n")
        try write("/proc/self/mountinfo", Self.v2Mountinfo)
        try write("/sys/fs/cgroup/memory.current", "73400320\n")
        try write("/sys/fs/cgroup/memory.max", memoryMax + "\n")
        try write("/sys/fs/cgroup/memory.stat", Self.v2MemoryStat)
        try write("/sys/fs/cgroup/cpu.max", cpuMax + "\n")
        try writeCPUStat(usageUsec: usageUsec)
    }

    /// v2 `memory.stat` (abridged, in the kernel's order): 20 MiB of inactive file pages, so the
    /// working set is 70 − 20 = 50 MiB. The lines around `inactive_file` start alike on purpose.
    static let v2MemoryStat = """
        anon 41943040
        file 27262976
        kernel 2097152
        file_mapped 1048576
        workingset_refault_file 12
        inactive_anon 40894464
        active_anon 1048576
        inactive_file 20971520
        active_file 6291456
        unevictable 0
        pgfault 1000

        """

    /// v1 `memory.stat` (abridged): this cgroup's own `inactive_file` (10 MiB) and its hierarchy's
    /// `total_inactive_file` (30 MiB), which is the one `memory.usage_in_bytes` goes with: the
    /// working set is 70 − 30 = 40 MiB.
    static let v1MemoryStat = """
        cache 33554432
        rss 39845888
        inactive_anon 0
        active_anon 39845888
        inactive_file 10485760
        active_file 23068672
        hierarchical_memory_limit 9223372036854771712
        total_cache 33554432
        total_rss 39845888
        total_inactive_anon 0
        total_active_anon 39845888
        total_inactive_file 31457280
        total_active_file 2097152
        total_unevictable 0

        """

    func writeCPUStat(usageUsec: Int) throws {
        try write("/sys/fs/cgroup/cpu.stat", "usage_usec \(usageUsec)\nuser_usec 600000\nsystem_usec 400000\n")
    }

    /// A cgroup v1 container (Docker without a cgroup namespace): the mounts' root is its own cgroup.
    func writeCgroupV1(limitInBytes: String, quota: String) throws {
        try write("/proc/self/cgroup", "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n")
        try write(
            "/proc/self/mountinfo",
            """
            22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
            35 25 0:30 /docker/abc /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory
            36 25 0:31 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:16 - cgroup cgroup rw,cpu,cpuacct

            """)
        try write("/sys/fs/cgroup/memory/memory.usage_in_bytes", "73400320\n")
        try write("/sys/fs/cgroup/memory/memory.limit_in_bytes", limitInBytes + "\n")
        try write("/sys/fs/cgroup/memory/memory.stat", Self.v1MemoryStat)
        try write("/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage", "5000000000\n")
        try write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", quota + "\n")
        try write("/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n")
    }
}

/// Runs `body` with a fresh fixture tree and removes the tree afterwards, whatever happens.
func withFixtureTree<T>(_ body: (FixtureTree) throws -> T) throws -> T {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("hatchling-metrics-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    return try body(FixtureTree(root: root))
}
