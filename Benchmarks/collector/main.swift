// Benchmark (not a test): the CPU cost of one full metrics collection, against a baseline measured
// in the same run: reading the same kernel files with plain open/read/close and no parsing.
// Usage: swift run -c release collector-bench [ITERATIONS]
//        collector-bench --list-files   (the kernel files one collection reads again each time, a
//                                        line each: scripts/bench.sh hands them to Benchmarks/c/heartbeat.c)
import HatchlingMetrics
import HatchlingSystem

func cpuMicroseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

let iterations = CommandLine.arguments.count > 1 && CommandLine.arguments[1] != "--list-files" ? Int(CommandLine.arguments[1]) ?? 20_000 : 20_000
let collector = MetricsCollector(root: "/", dataDirectory: "/tmp")
let first = collector.collect()
// The files one collection reads, for the baseline: the same syscalls without any parsing.
var files = ["/proc/uptime", "/proc/loadavg", "/proc/meminfo", "/proc/stat", "/proc/self/status", "/proc/net/dev", "/proc/1/stat"]
let system = SystemFiles()
if let membership = system.read("/proc/self/cgroup").flatMap({ try? ProcParsers.cgroupMembership($0) }),
    let mounts = system.read("/proc/self/mountinfo").flatMap({ try? ProcParsers.mountInfo($0) })
{
    let location = ProcParsers.locateCgroups(membership: membership, mounts: mounts)
    for (directory, names) in [
        (location.unified, ["memory.current", "memory.max", "memory.events", "memory.stat", "cpu.stat", "cpu.max"]),
        (location.v1["memory"], ["memory.usage_in_bytes", "memory.limit_in_bytes", "memory.oom_control", "memory.stat"]),
        (location.v1["cpuacct"], ["cpuacct.usage"]), (location.v1["cpu"], ["cpu.cfs_quota_us", "cpu.cfs_period_us"]),
    ] {
        guard let directory else { continue }
        files += names.map { "\(directory)/\($0)" }.filter { access($0, R_OK) == 0 }
    }
}
if CommandLine.arguments.dropFirst().first == "--list-files" {
    // /proc/1/stat is read once per process, not per collection.
    for file in files where file != "/proc/1/stat" { print(file) }
    exit(0)
}
nonisolated(unsafe) let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64 * 1024, alignment: 8)
func readRaw(_ path: String) {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return }
    _ = read(fd, buffer, 64 * 1024)
    close(fd)
}
var info = statvfs()
let statfs: (UnsafePointer<CChar>, UnsafeMutablePointer<statvfs>) -> Int32 = statvfs
func fixed(_ value: Double) -> String { String(Double(Int((value * 10).rounded())) / 10) }

for round in 0..<3 {
    let startBaseline = cpuMicroseconds()
    for _ in 0..<iterations {
        for file in files { readRaw(file) }
        _ = statfs("/tmp", &info)
        _ = opendir("/proc/self/fd").map { closedir($0) }
    }
    let baseline = (cpuMicroseconds() - startBaseline) / Double(iterations)
    let startCollect = cpuMicroseconds()
    for _ in 0..<iterations { _ = collector.collect() }
    let collect = (cpuMicroseconds() - startCollect) / Double(iterations)
    print(
        "round \(round + 1): one collection \(fixed(collect)) µs CPU; raw reads of the same \(files.count) files \(fixed(baseline)) µs; ratio \(fixed(collect / baseline))"
    )
}
print(
    "figures read: memory limit \(first.containerMemoryLimitBytes.map(String.init) ?? "none"), working set \(first.containerMemoryWorkingSetBytes.map(String.init) ?? "none"), problems: \(first.problems)"
)
