import HatchlingSystem
import Testing

@testable import HatchlingMetrics

@Suite("ProcParsers: /proc files")
struct ProcParsersTests {
    @Test("uptime: the first field, in seconds")
    func uptime() throws {
        #expect(try ProcParsers.uptime("912345.20 1800000.00\n") == 912_345.2)
        #expect(try ProcParsers.uptime("0.01 0.00") == 0.01)
    }

    @Test("loadavg: the three averages")
    func loadAverage() throws {
        #expect(try ProcParsers.loadAverage("0.12 0.30 0.25 1/234 5678\n") == [0.12, 0.30, 0.25])
        #expect(try ProcParsers.loadAverage("3.00 2.50 12.75") == [3.0, 2.5, 12.75])
    }

    static let meminfo = """
        MemTotal:       16316412 kB
        MemFree:         1234567 kB
        MemAvailable:    9437184 kB
        HugePages_Total:       0
        Hugepagesize:       2048 kB

        """

    @Test("meminfo: every line, kB turned into bytes, plain counts left as they are")
    func memInfo() throws {
        let values = try ProcParsers.memInfo(Self.meminfo)
        #expect(values["MemTotal"] == 16_316_412 * 1024)
        #expect(values["MemAvailable"] == 9_437_184 * 1024)
        #expect(values["MemFree"] == 1_234_567 * 1024)
        #expect(values["HugePages_Total"] == 0)
        #expect(values["Hugepagesize"] == 2_097_152)
        #expect(values.count == 5)
    }

    static let status = """
        Name:\thatchling-agent
        State:\tS (sleeping)
        VmPeak:\t  812345 kB
        VmRSS:\t    5120 kB
        Threads:\t7
        voluntary_ctxt_switches:\t12

        """

    @Test("status: VmRSS in bytes, Threads as a count, a missing field as nil")
    func statusField() throws {
        #expect(try ProcParsers.statusField("VmRSS", in: Self.status) == 5_242_880)
        #expect(try ProcParsers.statusField("Threads", in: Self.status) == 7)
        #expect(try ProcParsers.statusField("VmSwap", in: Self.status) == nil)
        // `VmRSS` must not match a longer key that starts the same way.
        #expect(try ProcParsers.statusField("Vm", in: Self.status) == nil)
    }

    static let stat = """
        cpu  100 0 50 800 50 0 0 0 7 0
        cpu0 50 0 25 400 25 0 0 0 0 0
        intr 12345 0 0
        ctxt 987654
        btime 1764392400
        processes 4242

        """

    @Test("stat: aggregate CPU ticks; idle and iowait are not busy, guest is not counted twice")
    func cpuTimes() throws {
        let times = try ProcParsers.cpuTimes(Self.stat)
        #expect(times == ProcParsers.CPUTimes(busy: 150, total: 1000))
    }

    @Test("busyPercent: busy share of the ticks between two samples; nil when no time passed")
    func busyPercent() {
        let first = ProcParsers.CPUTimes(busy: 150, total: 1000)
        let second = ProcParsers.CPUTimes(busy: 300, total: 2000)
        #expect(second.busyPercent(since: first) == 15)
        #expect(ProcParsers.CPUTimes(busy: 1150, total: 2000).busyPercent(since: first) == 100)
        #expect(first.busyPercent(since: first) == nil)
        #expect(first.busyPercent(since: second) == nil)
    }

    @Test("stat: btime, the boot time")
    func bootTime() throws {
        #expect(try ProcParsers.bootTime(Self.stat) == 1_764_392_400)
    }

    /// Fields 3 to 21 before the start time, then a few after it.
    static func pidStat(comm: String, start: String = "12345") -> String {
        "1 (\(comm)) S 0 1 1 0 -1 4194560 1000 0 0 0 10 5 0 0 20 0 1 0 \(start) 100000 250 18446744073709551615\n"
    }

    @Test(
        "pid stat: field 22, counted after the last ')' of the command name",
        arguments: [
            "init", "my (weird) cmd", "a) b) c", "x y z", ")",
        ])
    func processStartTicks(_ comm: String) throws {
        #expect(try ProcParsers.processStartTicks(Self.pidStat(comm: comm)) == 12345)
    }
}

@Suite("ProcParsers: garbage names the file and the line")
struct ProcParseErrorTests {
    @Test("uptime and loadavg: line 1 of their file")
    func singleLineFiles() {
        #expect(throws: MetricsParseError(file: "/proc/uptime", line: 1, reason: "expected seconds since boot, got 'garbage'")) {
            try ProcParsers.uptime("garbage")
        }
        #expect(throws: MetricsParseError.self) { try ProcParsers.uptime("-5 0") }
        #expect(throws: MetricsParseError.self) { try ProcParsers.uptime("") }
        let error = #expect(throws: MetricsParseError.self) { try ProcParsers.loadAverage("0.1 zero 0.3") }
        #expect(error?.file == "/proc/loadavg")
        #expect(error?.line == 1)
    }

    @Test("meminfo: the line of the bad entry, blank lines counted")
    func memInfo() {
        let text = "MemTotal: 100 kB\n\nMemFree: lots kB\n"
        let error = #expect(throws: MetricsParseError.self) { try ProcParsers.memInfo(text) }
        #expect(error?.file == "/proc/meminfo")
        #expect(error?.line == 3)
        let noColon = #expect(throws: MetricsParseError.self) { try ProcParsers.memInfo("MemTotal: 1 kB\nnonsense\n", file: "/x/meminfo") }
        #expect(noColon?.file == "/x/meminfo")
        #expect(noColon?.line == 2)
        #expect(noColon?.description.hasPrefix("/x/meminfo:2: ") == true)
    }

    @Test("status: the line of the bad field")
    func statusField() {
        let error = #expect(throws: MetricsParseError.self) {
            try ProcParsers.statusField("VmRSS", in: "Name:\tx\nVmRSS:\tlots kB\n")
        }
        #expect(error?.file == "/proc/self/status")
        #expect(error?.line == 2)
    }

    @Test("stat: the cpu line, btime line, or line 1 when missing")
    func stat() {
        let cpu = #expect(throws: MetricsParseError.self) { try ProcParsers.cpuTimes("intr 1\ncpu  1 2 x 4\n") }
        #expect(cpu?.file == "/proc/stat")
        #expect(cpu?.line == 2)
        let short = #expect(throws: MetricsParseError.self) { try ProcParsers.cpuTimes("cpu  1 2 3\n") }
        #expect(short?.line == 1)
        let missing = #expect(throws: MetricsParseError.self) { try ProcParsers.cpuTimes("cpu0 1 2 3 4\n") }
        #expect(missing?.line == 1)
        #expect(missing?.reason.contains("cpu") == true)
        let btime = #expect(throws: MetricsParseError.self) { try ProcParsers.bootTime("cpu 1 2 3 4\nbtime soon\n") }
        #expect(btime?.file == "/proc/stat")
        #expect(btime?.line == 2)
        #expect(throws: MetricsParseError.self) { try ProcParsers.bootTime("cpu 1 2 3 4\n") }
    }

    @Test("pid stat: no name in parentheses, too few fields, or a non-number start")
    func pidStat() {
        for text in ["garbage", "1 (init) S 0 1", ProcParsersTests.pidStat(comm: "init", start: "soon")] {
            let error = #expect(throws: MetricsParseError.self) { try ProcParsers.processStartTicks(text) }
            #expect(error?.file == "/proc/1/stat")
            #expect(error?.line == 1)
        }
    }

    @Test("the reason quotes at most 80 characters of the input, with control characters hidden")
    func quoting() {
        let error = #expect(throws: MetricsParseError.self) { try ProcParsers.uptime(String(repeating: "z", count: 200) + "\u{1}") }
        let reason = error?.reason ?? ""
        #expect(reason.contains(String(repeating: "z", count: 80) + "..."))
        #expect(!reason.contains(String(repeating: "z", count: 81)))
        let control = #expect(throws: MetricsParseError.self) { try ProcParsers.uptime("ab\u{1}c") }
        #expect(control?.reason.hasSuffix("'ab?c'") == true)
    }
}

@Suite("network and descriptor figures")
struct NetworkAndDescriptorTests {
    @Test("/proc/net/dev sums every interface but loopback")
    func netDev() throws {
        let totals = try ProcParsers.networkBytes(FixtureTree.netDev)
        #expect(totals.received == 1_000_500)
        #expect(totals.sent == 250_100)
    }

    @Test("a garbage /proc/net/dev line names the file and line")
    func netDevGarbage() {
        #expect(throws: MetricsParseError.self) { try ProcParsers.networkBytes("h1\nh2\n  eth0: 12 x\n") }
        do {
            _ = try ProcParsers.networkBytes("h1\nh2\n  eth0: 12 x\n")
        } catch {
            #expect(error.file == "/proc/net/dev")
            #expect(error.line == 3)
        }
    }

    @Test("entries are counted without . and ..; the real /proc/self/fd is readable and holds our own descriptor")
    func openDescriptors() throws {
        // Other suites open and close descriptors in this process at the same time, so the exact
        // count is checked on a directory of our own, and /proc/self/fd only for what is stable.
        try withFixtureTree { tree in
            for name in ["0", "1", "2", "17"] { try tree.write("/fds/\(name)", "") }
            #expect(SystemFiles(root: tree.root).countEntries("/fds") == 4)
            #expect(SystemFiles(root: tree.root).countEntries("/missing") == nil)
        }
        let fd = open("/dev/null", O_RDONLY)
        defer { close(fd) }
        let files = SystemFiles()
        #expect(try #require(files.countEntries("/proc/self/fd")) >= 4)
        #expect(access("/proc/self/fd/\(fd)", F_OK) == 0)
    }
}

@Suite("Decimal numbers read from bytes")
struct ByteDecimalTests {
    static func parsed(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { ByteScanning.double(UnsafeRawBufferPointer($0)[...]) }
    }

    @Test("the same Double as Double(String), for the kernel's decimals and for 20,000 random ones")
    func sameAsSwift() {
        for text in [
            "0.00", "912345.20", "0.52", "7", "5.", ".5", "123456789012345", "1234567890123456", "999999999999999", "9999999999999999",
            ".000000000000001", "0.0000000000000001", "0.1", "1e5", "", ".", "1.2.3", "-1", "12a", "inf", "nan", "0x1p3",
        ] {
            let parsed = Self.parsed(text)
            let swift = Double(text)
            #expect(parsed == swift || (parsed?.isNaN == true && swift?.isNaN == true), "\(text)")
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let whole = String(UInt64.random(in: 0...999_999_999, using: &generator))
            let fraction = String(UInt64.random(in: 0...999_999, using: &generator))
            let text = Bool.random(using: &generator) ? "\(whole).\(fraction)" : whole
            #expect(Self.parsed(text) == Double(text), "\(text)")
        }
    }
}
