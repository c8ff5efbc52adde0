/// Pure parsers for the kernel's text files: text in, typed values out. No I/O here.
///
/// Each parser has a `String` entry point (tests, `hatchling-agent metrics --root`) and works on
/// the bytes (`Bytes`), which the collector hands it straight from the read.
public enum ProcParsers {
    /// `/proc/uptime`: seconds since boot (first field).
    public static func uptime(_ text: String, file: String = "/proc/uptime") throws(MetricsParseError) -> Double {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in try uptime(bytes: bytes, file: file) }
    }

    static func uptime(bytes: Bytes, file: String = "/proc/uptime") throws(MetricsParseError) -> Double {
        var fields = ByteScanning.fields(ByteScanning.trimmed(bytes))
        guard let first = fields.next(), let value = ByteScanning.double(first), value >= 0 else {
            throw MetricsParseError(file: file, line: 1, reason: "expected seconds since boot, got \(quote(bytes))")
        }
        return value
    }

    /// `/proc/loadavg`: the 1, 5 and 15 minute load averages.
    public static func loadAverage(_ text: String, file: String = "/proc/loadavg") throws(MetricsParseError) -> [Double] {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in try loadAverage(bytes: bytes, file: file) }
    }

    static func loadAverage(bytes: Bytes, file: String = "/proc/loadavg") throws(MetricsParseError) -> [Double] {
        var fields = ByteScanning.fields(ByteScanning.trimmed(bytes))
        guard let one = fields.next().flatMap(ByteScanning.double), let five = fields.next().flatMap(ByteScanning.double),
            let fifteen = fields.next().flatMap(ByteScanning.double)
        else {
            throw MetricsParseError(file: file, line: 1, reason: "expected three load averages, got \(quote(bytes))")
        }
        return [one, five, fifteen]
    }

    /// `/proc/meminfo`: every `Key: value kB` line, in bytes.
    public static func memInfo(_ text: String, file: String = "/proc/meminfo") throws(MetricsParseError) -> [String: UInt64] {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in
            var values: [String: UInt64] = [:]
            for (index, line) in ByteScanning.lines(bytes).enumerated() where !line.isEmpty {
                guard let colon = line.firstIndex(of: 0x3A) else {
                    throw MetricsParseError(file: file, line: index + 1, reason: "expected 'Key: value', got \(quote(line))")
                }
                values[ByteScanning.text(line[..<colon])] = try memInfoValue(line, colon: colon, index: index, file: file)
            }
            return values
        }
    }

    /// `/proc/meminfo`: MemTotal and MemAvailable only (what a heartbeat needs), without building a dictionary.
    public static func memTotalAndAvailable(_ text: String, file: String = "/proc/meminfo") throws(MetricsParseError) -> (
        total: UInt64?, available: UInt64?
    ) {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in try memTotalAndAvailable(bytes: bytes, file: file) }
    }

    static func memTotalAndAvailable(bytes: Bytes, file: String = "/proc/meminfo") throws(MetricsParseError) -> (
        total: UInt64?, available: UInt64?
    ) {
        // Only the two lines are read: the other fifty are skipped unsplit.
        var total: UInt64? = nil
        var available: UInt64? = nil
        for (index, line) in ByteScanning.lines(bytes).enumerated() {
            let isTotal = ByteScanning.hasPrefix(line, "MemTotal:")
            guard isTotal || ByteScanning.hasPrefix(line, "MemAvailable:") else { continue }
            let value = try memInfoValue(line, colon: line.startIndex + (isTotal ? 8 : 12), index: index, file: file)
            if isTotal { total = value } else { available = value }
            if total != nil && available != nil { break }
        }
        if total == nil && available == nil {
            throw MetricsParseError(file: file, line: 1, reason: "no MemTotal or MemAvailable line")
        }
        return (total, available)
    }

    /// The value after the colon of a `Key: value [kB]` line, in bytes when it says kB.
    private static func memInfoValue(_ line: Bytes, colon: Int, index: Int, file: String) throws(MetricsParseError) -> UInt64 {
        var parts = ByteScanning.fields(line[(colon + 1)...])
        guard let number = parts.next().flatMap(ByteScanning.unsigned) else {
            throw MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(line))")
        }
        let kilobytes = parts.next().map { ByteScanning.equals($0, "kB") } ?? false
        return kilobytes ? number * 1024 : number
    }

    /// `/proc/self/status`: a `Key: value kB` line in bytes (for example `VmRSS`), or a plain count (`Threads`).
    public static func statusField(_ key: String, in text: String, file: String = "/proc/self/status") throws(MetricsParseError) -> UInt64? {
        let wanted = Array((key + ":").utf8)
        let found = try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in
            var found: Result<UInt64, MetricsParseError>? = nil
            statusFields(bytes: bytes, file: file, wanted: { line in line.starts(with: wanted) ? wanted.count : nil }) { _, value in
                found = value
                return true
            }
            return found
        }
        return try found?.get()
    }

    /// `/proc/self/status`: `VmRSS` (bytes) and `Threads`, in one pass; each nil when its line is
    /// missing, a failure when its line is garbage.
    static func residentBytesAndThreads(bytes: Bytes, file: String = "/proc/self/status") -> (
        residentBytes: Result<UInt64, MetricsParseError>?, threads: Result<UInt64, MetricsParseError>?
    ) {
        var resident: Result<UInt64, MetricsParseError>? = nil
        var threads: Result<UInt64, MetricsParseError>? = nil
        let wanted = { (line: Bytes) -> Int? in
            ByteScanning.hasPrefix(line, "VmRSS:") ? 6 : ByteScanning.hasPrefix(line, "Threads:") ? 8 : nil
        }
        statusFields(bytes: bytes, file: file, wanted: wanted) { line, value in
            if ByteScanning.hasPrefix(line, "VmRSS:") { resident = value } else { threads = value }
            return resident != nil && threads != nil
        }
        return (resident, threads)
    }

    /// Visits the `Key: value [kB]` lines that `wanted` picks (giving the length of the key and
    /// its colon), with the value in bytes when it says kB, or the line's error; stops when
    /// `visit` says done.
    private static func statusFields(
        bytes: Bytes, file: String, wanted: (Bytes) -> Int?, _ visit: (Bytes, Result<UInt64, MetricsParseError>) -> Bool
    ) {
        for (index, line) in ByteScanning.lines(bytes).enumerated() {
            guard let keyLength = wanted(line) else { continue }
            var parts = ByteScanning.fields(line.dropFirst(keyLength))
            guard let number = parts.next().flatMap(ByteScanning.unsigned) else {
                let error = MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(line))")
                if visit(line, .failure(error)) { return }
                continue
            }
            let kilobytes = parts.next().map { ByteScanning.equals($0, "kB") } ?? false
            if visit(line, .success(kilobytes ? number * 1024 : number)) { return }
        }
    }

    /// Aggregate CPU times from the `cpu` line of `/proc/stat`, in clock ticks.
    public struct CPUTimes: Sendable, Equatable {
        public var busy: UInt64
        public var total: UInt64

        public init(busy: UInt64, total: UInt64) {
            self.busy = busy
            self.total = total
        }

        /// Percentage of all CPUs busy between `earlier` and this sample; nil when no time passed.
        public func busyPercent(since earlier: CPUTimes) -> Double? {
            guard total > earlier.total, busy >= earlier.busy else { return nil }
            return Double(busy - earlier.busy) / Double(total - earlier.total) * 100
        }
    }

    /// `/proc/stat`: the aggregate `cpu` line; idle and iowait count as not busy.
    public static func cpuTimes(_ text: String, file: String = "/proc/stat") throws(MetricsParseError) -> CPUTimes {
        try statFigures(text, file: file).cpu
    }

    /// `/proc/stat`: `btime`, the boot time in seconds since the epoch.
    public static func bootTime(_ text: String, file: String = "/proc/stat") throws(MetricsParseError) -> UInt64 {
        try statFigures(text, file: file).bootTime
    }

    /// Both figures of `/proc/stat` in one pass (the file has a long `intr` line on big machines).
    public static func statFigures(_ text: String, file: String = "/proc/stat") throws(MetricsParseError) -> (cpu: CPUTimes, bootTime: UInt64) {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in try statFigures(bytes: bytes, file: file) }
    }

    static func statFigures(bytes: Bytes, file: String = "/proc/stat") throws(MetricsParseError) -> (cpu: CPUTimes, bootTime: UInt64) {
        let figures = try statFigures(bytes: bytes, file: file, bootTime: true)
        guard let boot = figures.bootTime else { throw MetricsParseError(file: file, line: 1, reason: "no 'btime' line") }
        return (figures.cpu, boot)
    }

    /// The `cpu` line, and `btime` when asked for: without it the parse ends at the first line
    /// (the boot time does not change, and the long `intr` line comes before it).
    static func statFigures(bytes: Bytes, file: String = "/proc/stat", bootTime: Bool) throws(MetricsParseError) -> (
        cpu: CPUTimes, bootTime: UInt64?
    ) {
        var cpu: CPUTimes? = nil
        var boot: UInt64? = nil
        for (index, line) in ByteScanning.lines(bytes).enumerated() {
            if cpu == nil, ByteScanning.hasPrefix(line, "cpu ") {
                // user nice system idle iowait irq softirq steal (guest time is already in user/nice).
                var fields = ByteScanning.fields(line.dropFirst(4))
                var total: UInt64 = 0
                var idle: UInt64 = 0
                var count = 0
                while let field = fields.next() {
                    guard let ticks = ByteScanning.unsigned(field) else {
                        throw MetricsParseError(file: file, line: index + 1, reason: "expected CPU tick counts, got \(quote(line))")
                    }
                    if count < 8 { total &+= ticks }
                    if count == 3 || count == 4 { idle &+= ticks }
                    count += 1
                }
                guard count >= 4 else {
                    throw MetricsParseError(file: file, line: index + 1, reason: "expected CPU tick counts, got \(quote(line))")
                }
                cpu = CPUTimes(busy: total - idle, total: total)
            } else if bootTime, boot == nil, ByteScanning.hasPrefix(line, "btime ") {
                guard let value = ByteScanning.unsigned(ByteScanning.trimmed(line.dropFirst(6))) else {
                    throw MetricsParseError(file: file, line: index + 1, reason: "expected seconds, got \(quote(line))")
                }
                boot = value
            }
            if cpu != nil && (boot != nil || !bootTime) { break }
        }
        guard let cpu else { throw MetricsParseError(file: file, line: 1, reason: "no aggregate 'cpu' line") }
        return (cpu, boot)
    }

    /// `/proc/<pid>/stat`: field 22, the process start time in clock ticks after boot.
    /// The command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
    public static func processStartTicks(_ text: String, file: String = "/proc/1/stat") throws(MetricsParseError) -> UInt64 {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in
            guard let close = bytes.lastIndex(of: 0x29) else {
                throw MetricsParseError(file: file, line: 1, reason: "no command name in parentheses")
            }
            // After ')' come field 3 (state) onwards; field 22 is at offset 19.
            var fields = ByteScanning.fields(ByteScanning.trimmed(bytes[bytes.index(after: close)...]))
            guard let ticks = fields.field(after: 19).flatMap(ByteScanning.unsigned) else {
                throw MetricsParseError(file: file, line: 1, reason: "expected a start time in field 22")
            }
            return ticks
        }
    }

    /// `/proc/net/dev`: bytes received and sent, summed over every interface except loopback.
    public static func networkBytes(_ text: String, file: String = "/proc/net/dev") throws(MetricsParseError) -> (received: UInt64, sent: UInt64) {
        try ByteScanning.withBytes(text) { bytes throws(MetricsParseError) in try networkBytes(bytes: bytes, file: file) }
    }

    static func networkBytes(bytes: Bytes, file: String = "/proc/net/dev") throws(MetricsParseError) -> (received: UInt64, sent: UInt64) {
        var received: UInt64 = 0
        var sent: UInt64 = 0
        for (index, line) in ByteScanning.lines(bytes).enumerated() where index >= 2 && !line.isEmpty {
            guard let colon = line.firstIndex(of: 0x3A) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 'interface: counters', got \(quote(line))")
            }
            // Received bytes is the first counter, sent bytes the ninth.
            var fields = ByteScanning.fields(line[line.index(after: colon)...])
            guard let rx = fields.next().flatMap(ByteScanning.unsigned), let tx = fields.field(after: 7).flatMap(ByteScanning.unsigned) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 16 counters, got \(quote(line))")
            }
            if ByteScanning.equals(ByteScanning.trimmed(line[..<colon]), "lo") { continue }
            received &+= rx
            sent &+= tx
        }
        return (received, sent)
    }

    static func quote(_ bytes: Bytes) -> String {
        quote(ByteScanning.text(bytes))
    }

    static func quote<S: StringProtocol>(_ text: S) -> String {
        let shown = text.prefix(80).map { $0.isASCII && !($0.asciiValue! < 0x20) ? String($0) : "?" }.joined()
        return "'\(shown)\(text.count > 80 ? "..." : "")'"
    }
}
