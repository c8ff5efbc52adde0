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
    /// The files of every collection, resolved once (`SystemFiles.File`).
    private let kernel: KernelFiles

    private struct Previous {
        var hostCPU: ProcParsers.CPUTimes?
        var cgroupCPU: (usageNanoseconds: UInt64, atNanoseconds: UInt64)?
        var cgroups: CgroupFiles?
        /// When PID 1 started (seconds since the epoch): it does not change, so it is read once.
        var containerStarted: Double?
    }

    private struct KernelFiles: Sendable {
        let uptime: SystemFiles.File
        let loadAverage: SystemFiles.File
        let memory: SystemFiles.File
        let stat: SystemFiles.File
        let status: SystemFiles.File
        let network: SystemFiles.File

        init(_ files: SystemFiles) {
            uptime = files.file("/proc/uptime")
            loadAverage = files.file("/proc/loadavg")
            memory = files.file("/proc/meminfo")
            stat = files.file("/proc/stat")
            status = files.file("/proc/self/status")
            network = files.file("/proc/net/dev")
        }
    }

    /// The container's cgroup files, once the cgroups are located: v2 where a unified directory
    /// exists, v1 by controller; which ones answer is found at each collection (a controller may
    /// live in either).
    private struct CgroupFiles: Sendable {
        struct Memory: Sendable {
            let usage: SystemFiles.File
            let limit: SystemFiles.File
            let events: SystemFiles.File
            let stat: SystemFiles.File
            /// v1 reports no limit as a huge number, and names its keys differently.
            let v1: Bool
            var oomKey: StaticString { "oom_kill" }
            /// `total_`: the whole hierarchy below this cgroup, as v1's usage_in_bytes counts it.
            var inactiveKey: StaticString { v1 ? "total_inactive_file" : "inactive_file" }
        }
        let unifiedMemory: Memory?
        let v1Memory: Memory?
        let cpuStat: SystemFiles.File?
        let cpuMax: SystemFiles.File?
        let cpuacctUsage: SystemFiles.File?
        let cfsQuota: SystemFiles.File?
        let cfsPeriod: SystemFiles.File?

        init(_ location: CgroupLocation, _ files: SystemFiles) {
            unifiedMemory = location.unified.map { dir in
                Memory(
                    usage: files.file(dir + "/memory.current"), limit: files.file(dir + "/memory.max"),
                    events: files.file(dir + "/memory.events"), stat: files.file(dir + "/memory.stat"), v1: false)
            }
            v1Memory = location.v1["memory"].map { dir in
                Memory(
                    usage: files.file(dir + "/memory.usage_in_bytes"), limit: files.file(dir + "/memory.limit_in_bytes"),
                    events: files.file(dir + "/memory.oom_control"), stat: files.file(dir + "/memory.stat"), v1: true)
            }
            cpuStat = location.unified.map { files.file($0 + "/cpu.stat") }
            cpuMax = location.unified.map { files.file($0 + "/cpu.max") }
            cpuacctUsage = location.v1["cpuacct"].map { files.file($0 + "/cpuacct.usage") }
            cfsQuota = location.v1["cpu"].map { files.file($0 + "/cpu.cfs_quota_us") }
            cfsPeriod = location.v1["cpu"].map { files.file($0 + "/cpu.cfs_period_us") }
        }
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
        self.kernel = KernelFiles(files)
    }

    /// A file's parsed figure: nil when the file cannot be read (a problem, "cannot be read"), or
    /// when it does not parse (a problem, the parser's).
    private func figure<T>(
        _ file: SystemFiles.File, _ problems: inout [String], _ parse: (Bytes) throws(MetricsParseError) -> T
    ) -> T? {
        guard let result = parsed(file, parse) else {
            problems.append("\(file.name): cannot be read")
            return nil
        }
        return Self.value(result, &problems)
    }

    /// A file's parse: nil when the file cannot be read.
    private func parsed<T>(_ file: SystemFiles.File, _ parse: (Bytes) throws(MetricsParseError) -> T) -> Result<T, MetricsParseError>? {
        files.contents(file) { bytes in Result { () throws(MetricsParseError) in try parse(bytes) } }
    }

    /// The value, or nil with the parse error in `problems`.
    private static func value<T>(_ result: Result<T, MetricsParseError>, _ problems: inout [String]) -> T? {
        switch result {
        case .success(let value): return value
        case .failure(let error):
            problems.append(error.description)
            return nil
        }
    }

    /// Reads everything once. Never throws: what cannot be read is nil and listed in `problems`.
    /// - Parameter dataDirectory: overrides the data directory (after a reload changed it).
    public func collect(dataDirectory: String? = nil) -> MetricsSnapshot {
        let dataDirectory = dataDirectory ?? self.dataDirectory
        var snapshot = MetricsSnapshot(diskPath: dataDirectory)
        var problems: [String] = []

        snapshot.hostUptimeSeconds = figure(kernel.uptime, &problems) { bytes throws(MetricsParseError) in
            try ProcParsers.uptime(bytes: bytes)
        }
        snapshot.load = figure(kernel.loadAverage, &problems) { bytes throws(MetricsParseError) in
            try ProcParsers.loadAverage(bytes: bytes)
        }
        if let memory = figure(kernel.memory, &problems, { bytes throws(MetricsParseError) in try ProcParsers.memTotalAndAvailable(bytes: bytes) }) {
            snapshot.hostMemoryTotalBytes = memory.total
            snapshot.hostMemoryAvailableBytes = memory.available
        }
        var bootTime: UInt64? = nil
        // The boot time serves the container's start, found once.
        let needsBootTime = previous.withLock { $0.containerStarted == nil }
        if let figures = figure(
            kernel.stat, &problems, { bytes throws(MetricsParseError) in try ProcParsers.statFigures(bytes: bytes, bootTime: needsBootTime) })
        {
            bootTime = figures.bootTime
            if needsBootTime, bootTime == nil {
                problems.append(MetricsParseError(file: kernel.stat.name, line: 1, reason: "no 'btime' line").description)
            }
            let times = figures.cpu
            let earlier = previous.withLock { p in
                defer { p.hostCPU = times }
                return p.hostCPU
            }
            snapshot.hostCPUPercent = earlier.flatMap { times.busyPercent(since: $0) }
        }
        if let status = figure(kernel.status, &problems, { ProcParsers.residentBytesAndThreads(bytes: $0) }) {
            snapshot.processRSSBytes = status.residentBytes.flatMap { Self.value($0, &problems) }
            snapshot.processThreads = status.threads.flatMap { Self.value($0, &problems) }
        }
        // The listing includes the descriptor of the directory being listed: not counted.
        snapshot.processOpenFileDescriptors = files.countEntries("/proc/self/fd").map { $0 > 0 ? $0 - 1 : 0 }
        if let net = figure(kernel.network, &problems, { bytes throws(MetricsParseError) in try ProcParsers.networkBytes(bytes: bytes) }) {
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

    private func cgroupFiles(problems: inout [String]) -> CgroupFiles? {
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
            let resolved = CgroupFiles(location, files)
            previous.withLock { $0.cgroups = resolved }
            return resolved
        } catch {
            problems.append(error.description)
            return nil
        }
    }

    /// A cgroup file holding one number or `max`: nil when it cannot be read; else the number (nil
    /// for `max`), or a failure. A garbage value is a problem and reads as nil, like a missing
    /// file, never as "no limit".
    private func cgroupNumber(_ file: SystemFiles.File) -> Result<UInt64?, MetricsParseError>? {
        parsed(file) { bytes throws(MetricsParseError) in try ProcParsers.cgroupValue(bytes: bytes, file: file.name) }
    }

    /// A `key value` line of a cgroup file: nil when the file cannot be read; else the value (nil
    /// without the key), or a failure.
    private func flatKeyed(_ key: StaticString, _ file: SystemFiles.File) -> Result<UInt64?, MetricsParseError>? {
        parsed(file) { bytes throws(MetricsParseError) in try ProcParsers.flatKeyed(key, bytes: bytes, file: file.name) }
    }

    /// Usage less the inactive file pages of `memory.stat` (the working set); nil without a usage.
    /// A `memory.stat` that cannot be read, or lacks the line, is a problem, as is a garbage line.
    private func workingSet(usage: UInt64?, memory: CgroupFiles.Memory, _ problems: inout [String]) -> UInt64? {
        guard let usage else { return nil }
        guard let result = flatKeyed(memory.inactiveKey, memory.stat) else {
            problems.append("\(memory.stat.name): cannot be read")
            return nil
        }
        guard let parsed = Self.value(result, &problems) else { return nil }
        guard let inactive = parsed else {
            problems.append("\(memory.stat.name): no \(memory.inactiveKey) line")
            return nil
        }
        return ProcParsers.workingSet(usage: usage, inactiveFile: inactive)
    }

    /// Memory and CPU of the container's cgroup: v2 where its controllers are enabled, else v1.
    private func collectCgroup(into snapshot: inout MetricsSnapshot, problems: inout [String]) {
        guard let cgroups = cgroupFiles(problems: &problems) else { return }
        // v2 memory when memory.current can be read (the controller is enabled there), else v1.
        var memory: (files: CgroupFiles.Memory, usage: Result<UInt64?, MetricsParseError>)? = nil
        if let unified = cgroups.unifiedMemory, let usage = cgroupNumber(unified.usage) {
            memory = (unified, usage)
        } else if let v1 = cgroups.v1Memory {
            // A v1 usage that cannot be read reads as nil, without a problem (as before).
            memory = (v1, cgroupNumber(v1.usage) ?? .success(nil))
        }
        if let memory {
            let chosen = memory.files
            snapshot.containerMemoryCurrentBytes = Self.value(memory.usage, &problems) ?? nil
            let limit = cgroupNumber(chosen.limit).flatMap { Self.value($0, &problems) } ?? nil
            snapshot.containerMemoryLimitBytes = chosen.v1 ? limit.flatMap(ProcParsers.v1MemoryLimit) : limit
            snapshot.containerOOMKills = flatKeyed(chosen.oomKey, chosen.events).flatMap { Self.value($0, &problems) } ?? nil
            snapshot.containerMemoryWorkingSetBytes = workingSet(usage: snapshot.containerMemoryCurrentBytes, memory: chosen, &problems)
        }
        var usageNanoseconds: UInt64? = nil
        if let cpuStat = cgroups.cpuStat, let result = flatKeyed("usage_usec", cpuStat) {
            usageNanoseconds = (Self.value(result, &problems) ?? nil).map { $0 * 1000 }
            if let cpuMax = cgroups.cpuMax,
                let result = parsed(
                    cpuMax, { bytes throws(MetricsParseError) in try ProcParsers.cpuMax(ByteScanning.text(bytes), file: cpuMax.name) })
            {
                snapshot.containerCPULimitCores = Self.value(result, &problems) ?? nil
            }
        } else {
            if let usage = cgroups.cpuacctUsage {
                usageNanoseconds = cgroupNumber(usage).flatMap { Self.value($0, &problems) } ?? nil
            }
            if let quotaFile = cgroups.cfsQuota, let periodFile = cgroups.cfsPeriod,
                let quota = files.contents(quotaFile, { Int64(ByteScanning.text(ByteScanning.trimmed($0))) }),
                let period = files.contents(periodFile, { ByteScanning.double(ByteScanning.trimmed($0)) })
            {
                if let quota, let period, period > 0 {
                    snapshot.containerCPULimitCores = quota > 0 ? Double(quota) / period : nil
                } else {
                    problems.append("\(quotaFile.name):1: expected a quota and a period in microseconds")
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
