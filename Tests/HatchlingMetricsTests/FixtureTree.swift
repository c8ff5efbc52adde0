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
        try write("/sys/fs/cgroup/cpu.max", cpuMax + "\n")
        try writeCPUStat(usageUsec: usageUsec)
    }

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
