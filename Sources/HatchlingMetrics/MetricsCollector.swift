import HatchlingSystem
import Synchronization

/// Collects a `MetricsSnapshot` from `/proc`, cgroups and `statvfs` below a root.
///
/// CPU percentages are deltas, so the collector keeps the previous sample; it is a final class with
/// a Mutex because the heartbeat and a `status-report` may collect at the same time.
public final class MetricsCollector: Sendable {
    public let files: SystemFiles
    public let dataDirectory: String
    private let previous: Mutex<Previous>

    private struct Previous {
        var hostCPU: ProcParsers.CPUTimes?
        var cgroupCPU: (usageNanoseconds: UInt64, atNanoseconds: UInt64)?
        var cgroups: CgroupLocation?
        /// When PID 1 started (seconds since the epoch): it does not change, so it is read once.
        var containerStarted: Double?
    }

    /// - Parameters:
    ///   - root: the directory that stands for `/` (tests pass a fixture tree).
    ///   - dataDirectory: whose file system the disk figures describe (`HATCHLING_DATA_DIR`).
    public init(root: String = "/", dataDirectory: String) {
        // On the real root the kernel files stay open between collections (SystemFiles). A fixture
        // tree is read afresh each time: tests rewrite its files.
        self.files = SystemFiles(root: root, keepingKernelFilesOpen: root == "/")
        self.dataDirectory = dataDirectory
        self.previous = Mutex(Previous())
    }

    /// Reads everything once. Never throws: what cannot be read is nil and listed in `problems`.
    /// - Parameter dataDirectory: overrides the data directory (after a reload changed it).
    public func collect(dataDirectory: String? = nil) -> MetricsSnapshot {
        let dataDirectory = dataDirectory ?? self.dataDirectory
        var snapshot = MetricsSnapshot(diskPath: dataDirectory)
        var problems: [String] = []
        func attempt<T>(_ file: String, _ parse: (String) throws(MetricsParseError) -> T) -> T? {
            guard let text = files.read(file) else {
                problems.append("\(file): cannot be read")
                return nil
            }
            do {
                return try parse(text)
            } catch {
                problems.append(error.description)
                return nil
            }
        }

        snapshot.hostUptimeSeconds = attempt("/proc/uptime") { t throws(MetricsParseError) in try ProcParsers.uptime(t) }
        snapshot.load = attempt("/proc/loadavg") { t throws(MetricsParseError) in try ProcParsers.loadAverage(t) }
        if let memory = attempt("/proc/meminfo", { t throws(MetricsParseError) in try ProcParsers.memTotalAndAvailable(t) }) {
            snapshot.hostMemoryTotalBytes = memory.total
            snapshot.hostMemoryAvailableBytes = memory.available
        }
        let stat = files.read("/proc/stat")
        var bootTime: UInt64? = nil
        if let stat {
            do {
                let figures = try ProcParsers.statFigures(stat)
                bootTime = figures.bootTime
                let times = figures.cpu
                let earlier = previous.withLock { p in
                    defer { p.hostCPU = times }
                    return p.hostCPU
                }
                snapshot.hostCPUPercent = earlier.flatMap { times.busyPercent(since: $0) }
            } catch {
                problems.append(error.description)
            }
        } else {
            problems.append("/proc/stat: cannot be read")
        }
        if let status = files.read("/proc/self/status") {
            snapshot.processRSSBytes =
                Self.parse(&problems) { () throws(MetricsParseError) in try ProcParsers.statusField("VmRSS", in: status) } ?? nil
            snapshot.processThreads =
                Self.parse(&problems) { () throws(MetricsParseError) in try ProcParsers.statusField("Threads", in: status) } ?? nil
        } else {
            problems.append("/proc/self/status: cannot be read")
        }
        // The listing includes the descriptor of the directory being listed: not counted.
        snapshot.processOpenFileDescriptors = files.countEntries("/proc/self/fd").map { $0 > 0 ? $0 - 1 : 0 }
        if let net = attempt("/proc/net/dev", { t throws(MetricsParseError) in try ProcParsers.networkBytes(t) }) {
            snapshot.networkReceivedBytes = net.received
            snapshot.networkSentBytes = net.sent
        }
        snapshot.containerUptimeSeconds = containerUptime(bootTime: bootTime, problems: &problems)
        collectCgroup(into: &snapshot, problems: &problems)
        if let space = files.fileSystemSpace(dataDirectory) {
            snapshot.diskTotalBytes = space.total
            snapshot.diskFreeBytes = space.available
        } else {
            problems.append("\(dataDirectory): statvfs failed")
        }
        snapshot.problems = problems
        return snapshot
    }

    /// PID 1 started with the container: now minus (boot time + PID 1's start).
    private func containerUptime(bootTime: UInt64?, problems: inout [String]) -> Double? {
        var started = previous.withLock { $0.containerStarted }
        if started == nil {
            guard let bootTime, let pid1 = files.read("/proc/1/stat", keepOpen: false) else { return nil }
            do {
                let ticks = try ProcParsers.processStartTicks(pid1)
                let hertz = Double(sysconf(Int32(_SC_CLK_TCK)))
                guard hertz > 0 else { return nil }
                started = Double(bootTime) + Double(ticks) / hertz
                previous.withLock { $0.containerStarted = started }
            } catch {
                problems.append(error.description)
                return nil
            }
        }
        guard let started else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return max(0, Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 - started)
    }

    private func locateCgroups(problems: inout [String]) -> CgroupLocation? {
        if let known = previous.withLock({ $0.cgroups }) { return known }
        guard let membershipText = files.read("/proc/self/cgroup", keepOpen: false),
            let mountText = files.read("/proc/self/mountinfo", keepOpen: false)
        else {
            problems.append("/proc/self/cgroup or /proc/self/mountinfo: cannot be read")
            return nil
        }
        do {
            let location = ProcParsers.locateCgroups(
                membership: try ProcParsers.cgroupMembership(membershipText),
                mounts: try ProcParsers.mountInfo(mountText))
            previous.withLock { $0.cgroups = location }
            return location
        } catch {
            problems.append(error.description)
            return nil
        }
    }

    /// Runs a parser; a parse error goes to `problems` (file and line) and gives nil.
    private static func parse<T>(_ problems: inout [String], _ parser: () throws(MetricsParseError) -> T) -> T? {
        do {
            return try parser()
        } catch {
            problems.append(error.description)
            return nil
        }
    }

    /// A cgroup file holding one number or `max`: (file exists, value). A garbage value is a problem
    /// and reads as nil, like a missing file, never as "no limit".
    private func cgroupNumber(_ path: String, _ problems: inout [String]) -> (present: Bool, value: UInt64?) {
        guard let text = files.read(path) else { return (false, nil) }
        let parsed = Self.parse(&problems) { () throws(MetricsParseError) in try ProcParsers.cgroupValue(text, file: path) }
        return (parsed != nil, parsed ?? nil)
    }

    /// A `key value` line of a cgroup file; nil when the file or the key is missing.
    private func flatKeyedValue(_ key: String, _ path: String, _ problems: inout [String]) -> UInt64? {
        guard let text = files.read(path) else { return nil }
        return Self.parse(&problems) { () throws(MetricsParseError) in try ProcParsers.flatKeyed(key, in: text, file: path) } ?? nil
    }

    /// Usage less the inactive file pages of `memory.stat` (the working set); nil without a usage.
    /// A `memory.stat` that cannot be read, or lacks the line, is a problem, as is a garbage line.
    private func workingSet(usage: UInt64?, inactiveKey: String, _ path: String, _ problems: inout [String]) -> UInt64? {
        guard let usage else { return nil }
        guard let text = files.read(path) else {
            problems.append("\(path): cannot be read")
            return nil
        }
        guard let parsed = Self.parse(&problems, { () throws(MetricsParseError) in try ProcParsers.flatKeyed(inactiveKey, in: text, file: path) })
        else {
            return nil
        }
        guard let inactive = parsed else {
            problems.append("\(path): no \(inactiveKey) line")
            return nil
        }
        return ProcParsers.workingSet(usage: usage, inactiveFile: inactive)
    }

    /// Memory and CPU of the container's cgroup: v2 where its controllers are enabled, else v1.
    private func collectCgroup(into snapshot: inout MetricsSnapshot, problems: inout [String]) {
        guard let location = locateCgroups(problems: &problems) else { return }
        var usageNanoseconds: UInt64? = nil
        if let dir = location.unified, files.read(dir + "/memory.current") != nil {
            snapshot.containerMemoryCurrentBytes = cgroupNumber(dir + "/memory.current", &problems).value
            snapshot.containerMemoryLimitBytes = cgroupNumber(dir + "/memory.max", &problems).value
            snapshot.containerOOMKills = flatKeyedValue("oom_kill", dir + "/memory.events", &problems)
            snapshot.containerMemoryWorkingSetBytes = workingSet(
                usage: snapshot.containerMemoryCurrentBytes, inactiveKey: "inactive_file", dir + "/memory.stat", &problems)
        } else if let dir = location.v1["memory"] {
            snapshot.containerMemoryCurrentBytes = cgroupNumber(dir + "/memory.usage_in_bytes", &problems).value
            snapshot.containerMemoryLimitBytes = cgroupNumber(dir + "/memory.limit_in_bytes", &problems).value.flatMap(ProcParsers.v1MemoryLimit)
            snapshot.containerOOMKills = flatKeyedValue("oom_kill", dir + "/memory.oom_control", &problems)
            // total_: the whole hierarchy below this cgroup, as usage_in_bytes counts it.
            snapshot.containerMemoryWorkingSetBytes = workingSet(
                usage: snapshot.containerMemoryCurrentBytes, inactiveKey: "total_inactive_file", dir + "/memory.stat", &problems)
        }
        if let dir = location.unified, let cpuStat = files.read(dir + "/cpu.stat") {
            usageNanoseconds =
                (Self.parse(&problems) { () throws(MetricsParseError) in
                    try ProcParsers.flatKeyed("usage_usec", in: cpuStat, file: dir + "/cpu.stat")
                } ?? nil).map { $0 * 1000 }
            if let max = files.read(dir + "/cpu.max") {
                snapshot.containerCPULimitCores =
                    Self.parse(&problems) { () throws(MetricsParseError) in
                        try ProcParsers.cpuMax(max, file: dir + "/cpu.max")
                    } ?? nil
            }
        } else {
            if let dir = location.v1["cpuacct"] {
                usageNanoseconds = cgroupNumber(dir + "/cpuacct.usage", &problems).value
            }
            if let dir = location.v1["cpu"], let quotaText = files.read(dir + "/cpu.cfs_quota_us"),
                let periodText = files.read(dir + "/cpu.cfs_period_us")
            {
                if let quota = Int64(ByteScanning.text(ByteScanning.trimmed(ByteScanning.bytes(quotaText)))),
                    let period = Double(ByteScanning.text(ByteScanning.trimmed(ByteScanning.bytes(periodText)))), period > 0
                {
                    snapshot.containerCPULimitCores = quota > 0 ? Double(quota) / period : nil
                } else {
                    problems.append("\(dir)/cpu.cfs_quota_us:1: expected a quota and a period in microseconds")
                }
            }
        }
        if let usageNanoseconds {
            let at = Monotonic.nanoseconds()
            let earlier = previous.withLock { p in
                defer { p.cgroupCPU = (usageNanoseconds, at) }
                return p.cgroupCPU
            }
            if let earlier, at > earlier.atNanoseconds, usageNanoseconds >= earlier.usageNanoseconds {
                snapshot.containerCPUPercent =
                    Double(usageNanoseconds - earlier.usageNanoseconds) / Double(at - earlier.atNanoseconds) * 100
            }
        }
    }
}
