/// Pure parsers for the kernel's text files: text in, typed values out. No I/O here.
public enum ProcParsers {
    /// `/proc/uptime`: seconds since boot (first field).
    public static func uptime(_ text: String, file: String = "/proc/uptime") throws(MetricsParseError) -> Double {
        let fields = ByteScanning.fields(ByteScanning.trimmed(ByteScanning.bytes(text)))
        guard let first = fields.first, let value = ByteScanning.double(first), value >= 0 else {
            throw MetricsParseError(file: file, line: 1, reason: "expected seconds since boot, got \(quote(text))")
        }
        return value
    }

    /// `/proc/loadavg`: the 1, 5 and 15 minute load averages.
    public static func loadAverage(_ text: String, file: String = "/proc/loadavg") throws(MetricsParseError) -> [Double] {
        let fields = ByteScanning.fields(ByteScanning.trimmed(ByteScanning.bytes(text))).prefix(3).compactMap(ByteScanning.double)
        guard fields.count == 3 else {
            throw MetricsParseError(file: file, line: 1, reason: "expected three load averages, got \(quote(text))")
        }
        return fields
    }

    /// `/proc/meminfo`: every `Key: value kB` line, in bytes.
    public static func memInfo(_ text: String, file: String = "/proc/meminfo") throws(MetricsParseError) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        try memInfoLines(text, file: file) { key, value in values[ByteScanning.text(key)] = value }
        return values
    }

    /// `/proc/meminfo`: MemTotal and MemAvailable only (what a heartbeat needs), without building a dictionary.
    public static func memTotalAndAvailable(_ text: String, file: String = "/proc/meminfo") throws(MetricsParseError) -> (
        total: UInt64?, available: UInt64?
    ) {
        // Only the two lines are read: the other fifty are skipped unsplit.
        var total: UInt64? = nil
        var available: UInt64? = nil
        for (index, line) in ByteScanning.lines(text).enumerated() {
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

    private static func memInfoLines(_ text: String, file: String, _ visit: (Bytes, UInt64) -> Void) throws(MetricsParseError) {
        for (index, line) in ByteScanning.lines(text).enumerated() where !line.isEmpty {
            guard let colon = line.firstIndex(of: 0x3A) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 'Key: value', got \(quote(ByteScanning.text(line)))")
            }
            visit(line[..<colon], try memInfoValue(line, colon: colon, index: index, file: file))
        }
    }

    /// The value after the colon of a `Key: value [kB]` line, in bytes when it says kB.
    private static func memInfoValue(_ line: Bytes, colon: Int, index: Int, file: String) throws(MetricsParseError) -> UInt64 {
        let parts = ByteScanning.fields(line[(colon + 1)...])
        guard let number = parts.first.flatMap(ByteScanning.unsigned) else {
            throw MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(ByteScanning.text(line)))")
        }
        let kilobytes = parts.count > 1 && parts[1].elementsEqual("kB".utf8)
        return kilobytes ? number * 1024 : number
    }

    /// `/proc/self/status`: a `Key: value kB` line in bytes (for example `VmRSS`), or a plain count (`Threads`).
    public static func statusField(_ key: String, in text: String, file: String = "/proc/self/status") throws(MetricsParseError) -> UInt64? {
        let wanted = Array((key + ":").utf8)
        for (index, line) in ByteScanning.lines(text).enumerated() where line.starts(with: wanted) {
            let parts = ByteScanning.fields(line.dropFirst(wanted.count))
            guard let number = parts.first.flatMap(ByteScanning.unsigned) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(ByteScanning.text(line)))")
            }
            return parts.count > 1 && parts[1].elementsEqual("kB".utf8) ? number * 1024 : number
        }
        return nil
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
        var cpu: CPUTimes? = nil
        var boot: UInt64? = nil
        for (index, line) in ByteScanning.lines(text).enumerated() {
            if cpu == nil, ByteScanning.hasPrefix(line, "cpu ") {
                let values = ByteScanning.fields(line).dropFirst().map(ByteScanning.unsigned)
                guard values.count >= 4, values.allSatisfy({ $0 != nil }) else {
                    throw MetricsParseError(file: file, line: index + 1, reason: "expected CPU tick counts, got \(quote(ByteScanning.text(line)))")
                }
                let ticks = values.map { $0! }
                // user nice system idle iowait irq softirq steal (guest time is already in user/nice).
                let total = ticks.prefix(8).reduce(0, +)
                let idle = ticks[3] + (ticks.count > 4 ? ticks[4] : 0)
                cpu = CPUTimes(busy: total - idle, total: total)
            } else if boot == nil, ByteScanning.hasPrefix(line, "btime ") {
                guard let value = ByteScanning.unsigned(ByteScanning.trimmed(line.dropFirst(6))) else {
                    throw MetricsParseError(file: file, line: index + 1, reason: "expected seconds, got \(quote(ByteScanning.text(line)))")
                }
                boot = value
            }
            if cpu != nil && boot != nil { break }
        }
        guard let cpu else { throw MetricsParseError(file: file, line: 1, reason: "no aggregate 'cpu' line") }
        guard let boot else { throw MetricsParseError(file: file, line: 1, reason: "no 'btime' line") }
        return (cpu, boot)
    }

    /// `/proc/<pid>/stat`: field 22, the process start time in clock ticks after boot.
    /// The command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
    public static func processStartTicks(_ text: String, file: String = "/proc/1/stat") throws(MetricsParseError) -> UInt64 {
        let bytes = ByteScanning.bytes(text)
        guard let close = bytes.lastIndex(of: 0x29) else {
            throw MetricsParseError(file: file, line: 1, reason: "no command name in parentheses")
        }
        let fields = ByteScanning.fields(ByteScanning.trimmed(bytes[bytes.index(after: close)...]))
        // After ')' come field 3 (state) onwards; field 22 is at offset 19.
        guard fields.count > 19, let ticks = ByteScanning.unsigned(fields[19]) else {
            throw MetricsParseError(file: file, line: 1, reason: "expected a start time in field 22")
        }
        return ticks
    }

    /// `/proc/net/dev`: bytes received and sent, summed over every interface except loopback.
    public static func networkBytes(_ text: String, file: String = "/proc/net/dev") throws(MetricsParseError) -> (received: UInt64, sent: UInt64) {
        var received: UInt64 = 0
        var sent: UInt64 = 0
        for (index, line) in ByteScanning.lines(text).enumerated() where index >= 2 && !line.isEmpty {
            guard let colon = line.firstIndex(of: 0x3A) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 'interface: counters', got \(quote(ByteScanning.text(line)))")
            }
            let fields = ByteScanning.fields(line[line.index(after: colon)...])
            guard fields.count >= 9, let rx = ByteScanning.unsigned(fields[0]), let tx = ByteScanning.unsigned(fields[8]) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 16 counters, got \(quote(ByteScanning.text(line)))")
            }
            if ByteScanning.trimmed(line[..<colon]).elementsEqual("lo".utf8) { continue }
            received &+= rx
            sent &+= tx
        }
        return (received, sent)
    }

    static func quote<S: StringProtocol>(_ text: S) -> String {
        let shown = text.prefix(80).map { $0.isASCII && !($0.asciiValue! < 0x20) ? String($0) : "?" }.joined()
        return "'\(shown)\(text.count > 80 ? "..." : "")'"
    }
}
