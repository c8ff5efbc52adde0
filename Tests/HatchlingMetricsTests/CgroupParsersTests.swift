import HatchlingMetrics
import Testing

@Suite("ProcParsers: cgroups")
struct CgroupParsersTests {
    static let v2Mount = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"

    @Test("mountinfo: root, mount point, type and super options, with or without optional fields")
    func mountInfo() throws {
        let text = """
            36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
            \(Self.v2Mount)
            35 25 0:30 / /sys/fs/cgroup/memory rw,relatime shared:15 shared:16 - cgroup cgroup rw,memory
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw

            """
        let entries = try ProcParsers.mountInfo(text)
        #expect(entries.count == 4)
        #expect(entries[0].root == "/mnt1")
        #expect(entries[0].mountPoint == "/mnt2")
        #expect(entries[0].fileSystemType == "ext3")
        #expect(entries[0].superOptions == ["rw", "errors=continue"])
        #expect(entries[1].mountPoint == "/sys/fs/cgroup")
        #expect(entries[1].fileSystemType == "cgroup2")
        #expect(entries[1].superOptions == ["rw", "nsdelegate", "memory_recursiveprot"])
        #expect(entries[2].superOptions == ["rw", "memory"])
        #expect(entries[3].mountPoint == "/sys/fs/cgroup/unified")
    }

    @Test("mountinfo: octal escapes (\\040 space, \\011 tab, \\134 backslash) are undone")
    func mountInfoEscapes() throws {
        let text = #"40 23 0:40 /my\040root /mnt/my\040disk\011x\134y rw - ext4 /dev/sdb1 rw"#
        let entry = try #require(try ProcParsers.mountInfo(text).first)
        #expect(entry.root == "/my root")
        #expect(entry.mountPoint == "/mnt/my disk\tx\\y")
    }

    @Test("mountinfo: a bad line names the file and its line")
    func mountInfoGarbage() {
        let error = #expect(throws: MetricsParseError.self) { try ProcParsers.mountInfo("\(Self.v2Mount)\nnot a mount line\n") }
        #expect(error?.file == "/proc/self/mountinfo")
        #expect(error?.line == 2)
        let noDash = #expect(throws: MetricsParseError.self) { try ProcParsers.mountInfo("1 2 3:4 / /x rw shared:1 cgroup2 cgroup2 rw") }
        #expect(noDash?.line == 1)
    }

    @Test("cgroup membership: unified and v1 lines")
    func membership() throws {
        let v2 = try ProcParsers.cgroupMembership("0::/\n")
        #expect(v2.count == 1)
        #expect(v2[0].controllers.isEmpty && v2[0].path == "/")

        let hybrid = try ProcParsers.cgroupMembership("12:memory:/docker/abc\n11:cpu,cpuacct:/docker/abc\n1:name=systemd:/x:y\n0::/docker/abc\n")
        #expect(hybrid.map(\.controllers) == [["memory"], ["cpu", "cpuacct"], ["name=systemd"], []])
        #expect(hybrid.map(\.path) == ["/docker/abc", "/docker/abc", "/x:y", "/docker/abc"])
    }

    @Test("cgroup membership: a bad line names the file and its line", arguments: ["garbage", "1:memory:relative/path", "1:memory"])
    func membershipGarbage(_ bad: String) {
        let error = #expect(throws: MetricsParseError.self) { try ProcParsers.cgroupMembership("0::/\n\(bad)\n") }
        #expect(error?.file == "/proc/self/cgroup")
        #expect(error?.line == 2)
    }

    /// One mount, made through the public parser (`MountInfoEntry` has no public initializer).
    static func mount(_ root: String, _ point: String, _ type: String, _ options: [String]) -> MountInfoEntry {
        let line = "1 1 0:1 \(root) \(point) rw,relatime - \(type) \(type) \((["rw"] + options).joined(separator: ","))"
        return try! ProcParsers.mountInfo(line)[0]
    }

    @Test("locate: a v2-only container at its namespace's root")
    func locateV2Container() {
        let location = ProcParsers.locateCgroups(
            membership: [([], "/")], mounts: [Self.mount("/", "/sys/fs/cgroup", "cgroup2", ["nsdelegate"])])
        #expect(location == CgroupLocation(unified: "/sys/fs/cgroup", v1: [:]))
    }

    @Test("locate: a v1 host with a nested path, cpu and cpuacct sharing a hierarchy")
    func locateV1Host() {
        let path = "/system.slice/hatchling.service"
        let location = ProcParsers.locateCgroups(
            membership: [(["memory"], path), (["cpu", "cpuacct"], path), (["pids"], path), (["name=systemd"], path)],
            mounts: [
                Self.mount("/", "/sys/fs/cgroup/memory", "cgroup", ["memory"]),
                Self.mount("/", "/sys/fs/cgroup/cpu,cpuacct", "cgroup", ["cpu", "cpuacct"]),
                Self.mount("/", "/sys/fs/cgroup/pids", "cgroup", ["pids"]),
            ])
        #expect(location.unified == nil)
        #expect(
            location.v1 == [
                "memory": "/sys/fs/cgroup/memory" + path,
                "cpu": "/sys/fs/cgroup/cpu,cpuacct" + path,
                "cpuacct": "/sys/fs/cgroup/cpu,cpuacct" + path,
            ])
    }

    @Test("locate: hybrid, v1 controllers and the unified hierarchy both")
    func locateHybrid() {
        let location = ProcParsers.locateCgroups(
            membership: [(["memory"], "/user.slice"), (["cpu", "cpuacct"], "/user.slice"), ([], "/user.slice")],
            mounts: [
                Self.mount("/", "/sys/fs/cgroup/memory", "cgroup", ["memory"]),
                Self.mount("/", "/sys/fs/cgroup/cpu,cpuacct", "cgroup", ["cpu", "cpuacct"]),
                Self.mount("/", "/sys/fs/cgroup/unified", "cgroup2", []),
            ])
        #expect(location.unified == "/sys/fs/cgroup/unified/user.slice")
        #expect(location.v1["memory"] == "/sys/fs/cgroup/memory/user.slice")
        #expect(location.v1["cpuacct"] == "/sys/fs/cgroup/cpu,cpuacct/user.slice")
    }

    @Test("locate: inside a container without a cgroup namespace, the mount's root is the container's cgroup")
    func locateMountRootNotSlash() {
        let mounts = [
            Self.mount("/docker/abc", "/sys/fs/cgroup", "cgroup2", []),
            Self.mount("/docker/abc", "/sys/fs/cgroup/memory", "cgroup", ["memory"]),
        ]
        let own = ProcParsers.locateCgroups(membership: [([], "/docker/abc"), (["memory"], "/docker/abc")], mounts: mounts)
        #expect(own == CgroupLocation(unified: "/sys/fs/cgroup", v1: ["memory": "/sys/fs/cgroup/memory"]))
        let nested = ProcParsers.locateCgroups(membership: [([], "/docker/abc/worker")], mounts: mounts)
        #expect(nested.unified == "/sys/fs/cgroup/worker")
    }

    @Test("locate: nothing mounted, nothing found")
    func locateNothing() {
        let location = ProcParsers.locateCgroups(membership: [([], "/"), (["memory"], "/")], mounts: [])
        #expect(location == CgroupLocation())
    }

    @Test("cgroup value: a number, or max for no limit")
    func cgroupValue() throws {
        #expect(try ProcParsers.cgroupValue("536870912\n", file: "/sys/fs/cgroup/memory.max") == 536_870_912)
        #expect(try ProcParsers.cgroupValue("max\n", file: "/sys/fs/cgroup/memory.max") == nil)
        let error = #expect(throws: MetricsParseError.self) { try ProcParsers.cgroupValue("lots\n", file: "/sys/fs/cgroup/memory.max") }
        #expect(error?.file == "/sys/fs/cgroup/memory.max")
        #expect(error?.line == 1)
        #expect(throws: MetricsParseError.self) { try ProcParsers.cgroupValue("-1\n", file: "f") }
    }

    @Test("v1 memory limit: the page-rounded 'no limit' number means no limit")
    func v1MemoryLimit() {
        #expect(ProcParsers.v1MemoryLimit(9_223_372_036_854_771_712) == nil)
        #expect(ProcParsers.v1MemoryLimit(UInt64(Int64.max)) == nil)
        #expect(ProcParsers.v1MemoryLimit(536_870_912) == 536_870_912)
    }

    @Test("cpu.max: max is no limit, a quota is cores")
    func cpuMax() throws {
        #expect(try ProcParsers.cpuMax("max 100000\n", file: "cpu.max") == nil)
        #expect(try ProcParsers.cpuMax("50000 100000\n", file: "cpu.max") == 0.5)
        #expect(try ProcParsers.cpuMax("250000 100000", file: "cpu.max") == 2.5)
        for bad in ["garbage", "50000", "50000 0", "lots 100000", "1 2 3"] {
            let error = #expect(throws: MetricsParseError.self, "\(bad)") { try ProcParsers.cpuMax(bad, file: "/sys/fs/cgroup/cpu.max") }
            #expect(error?.file == "/sys/fs/cgroup/cpu.max")
            #expect(error?.line == 1)
        }
    }

    @Test("flat-keyed files: the value of a key, nil when absent, the line when garbage")
    func flatKeyed() throws {
        let text = "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\n"
        #expect(try ProcParsers.flatKeyed("usage_usec", in: text, file: "cpu.stat") == 123_456)
        #expect(try ProcParsers.flatKeyed("system_usec", in: text, file: "cpu.stat") == 23456)
        #expect(try ProcParsers.flatKeyed("nr_periods", in: text, file: "cpu.stat") == nil)
        let error = #expect(throws: MetricsParseError.self) {
            try ProcParsers.flatKeyed("usage_usec", in: "nr_periods 0\nusage_usec soon\n", file: "/sys/fs/cgroup/cpu.stat")
        }
        #expect(error?.file == "/sys/fs/cgroup/cpu.stat")
        #expect(error?.line == 2)
    }

    @Test("flat-keyed files: a key that begins another key (inactive_file, inactive_filex) or ends one (total_inactive_file) is told apart")
    func flatKeyedNeighbours() throws {
        let text = "inactive_filex 1\ntotal_inactive_file 2\ninactive_file\t3\ninactive_file 4\n"
        #expect(try ProcParsers.flatKeyed("inactive_file", in: text, file: "memory.stat") == 3, "a tab separates too")
        #expect(try ProcParsers.flatKeyed("total_inactive_file", in: text, file: "memory.stat") == 2)
        #expect(try ProcParsers.flatKeyed("inactive_file", in: "inactive_file\n inactive_file 5\n", file: "memory.stat") == 5)
        #expect(try ProcParsers.flatKeyed("inactive_file", in: "inactive_file", file: "memory.stat") == nil)
        #expect(try ProcParsers.flatKeyed("inactive_file", in: "", file: "memory.stat") == nil)
        #expect(try ProcParsers.flatKeyed("inactive_file", in: "inactive_file 1 2\n", file: "memory.stat") == nil, "not a key-value line")
        let error = #expect(throws: MetricsParseError.self) {
            try ProcParsers.flatKeyed("inactive_file", in: "anon 1\ninactive_file -2\n", file: "/sys/fs/cgroup/memory.stat")
        }
        #expect(error?.line == 2)
    }

    @Test("working set: usage less inactive file pages, never below 0")
    func workingSet() {
        #expect(ProcParsers.workingSet(usage: 73_400_320, inactiveFile: 20_971_520) == 52_428_800)
        #expect(ProcParsers.workingSet(usage: 100, inactiveFile: 100) == 0)
        #expect(ProcParsers.workingSet(usage: 100, inactiveFile: 4096) == 0, "read a moment apart, inactive may exceed usage")
        #expect(ProcParsers.workingSet(usage: UInt64.max, inactiveFile: 0) == UInt64.max)
    }
}
