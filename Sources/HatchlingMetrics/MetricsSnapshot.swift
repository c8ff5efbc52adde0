/// One collection of every figure. A figure that could not be read is nil; `problems` says why.
public struct MetricsSnapshot: Sendable, Equatable {
    public var hostUptimeSeconds: Double?
    public var load: [Double]?
    public var hostMemoryTotalBytes: UInt64?
    public var hostMemoryAvailableBytes: UInt64?
    /// Percent of all host CPUs busy since the previous collection (nil on the first).
    public var hostCPUPercent: Double?

    public var containerUptimeSeconds: Double?
    public var containerMemoryCurrentBytes: UInt64?
    /// The working set, as cAdvisor and the kubelet define it: usage less the inactive file pages
    /// of `memory.stat` (page cache the kernel reclaims before it would kill), at least 0.
    public var containerMemoryWorkingSetBytes: UInt64?
    /// Nil when the container has no memory limit.
    public var containerMemoryLimitBytes: UInt64?
    /// Percent of one core used by the container's cgroup since the previous collection.
    public var containerCPUPercent: Double?
    /// The CPU quota in cores; nil when unlimited.
    public var containerCPULimitCores: Double?

    /// Processes the OOM killer ended in the container's cgroup.
    public var containerOOMKills: UInt64?
    /// Bytes in and out on the network namespace's interfaces, loopback excluded.
    public var networkReceivedBytes: UInt64?
    public var networkSentBytes: UInt64?

    public var processRSSBytes: UInt64?
    public var processThreads: UInt64?
    public var processOpenFileDescriptors: UInt64?

    public var diskPath: String
    public var diskTotalBytes: UInt64?
    public var diskFreeBytes: UInt64?

    /// Which figures could not be read, and why (file and line), for the logs.
    public var problems: [String]

    public init(diskPath: String) {
        self.diskPath = diskPath
        self.problems = []
    }
}
