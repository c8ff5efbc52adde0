/// Pure parsers for the kernel's text files: text in, typed values out. No I/O here.
public enum ProcParsers {
    /// `/proc/uptime`: seconds since boot (first field).
    public static func uptime(_ text: String, file: String = "/proc/uptime") throws(MetricsParseError) -> Double {
        let fields = text.split(whereSeparator: \.isWhitespace)
        guard let first = fields.first, let value = Double(first), value >= 0 else {
            throw MetricsParseError(file: file, line: 1, reason: "expected seconds since boot, got \(quote(text))")
        }
        return value
    }

    /// `/proc/loadavg`: the 1, 5 and 15 minute load averages.
    public static func loadAverage(_ text: String, file: String = "/proc/loadavg") throws(MetricsParseError) -> [Double] {
        let fields = text.split(whereSeparator: \.isWhitespace).prefix(3).compactMap { Double($0) }
        guard fields.count == 3 else {
            throw MetricsParseError(file: file, line: 1, reason: "expected three load averages, got \(quote(text))")
        }
        return fields
    }

    /// `/proc/meminfo`: every `Key: value kB` line, in bytes.
    public static func memInfo(_ text: String, file: String = "/proc/meminfo") throws(MetricsParseError) -> [String: UInt64] {
        var values: [String: UInt64] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 'Key: value', got \(quote(line))")
            }
            let parts = line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace)
            guard let number = parts.first.flatMap({ UInt64($0) }) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(line))")
            }
            let unit = parts.count > 1 ? parts[1] : ""
            values[String(line[..<colon])] = unit == "kB" ? number * 1024 : number
        }
        return values
    }

    /// `/proc/self/status`: a `Key: value kB` line in bytes (for example `VmRSS`), or a plain count (`Threads`).
    public static func statusField(_ key: String, in text: String, file: String = "/proc/self/status") throws(MetricsParseError) -> UInt64? {
        for (index, line) in text.split(separator: "\n").enumerated() where line.hasPrefix(key + ":") {
            let parts = line.dropFirst(key.count + 1).split(whereSeparator: \.isWhitespace)
            guard let number = parts.first.flatMap({ UInt64($0) }) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected a number, got \(quote(line))")
            }
            return parts.count > 1 && parts[1] == "kB" ? number * 1024 : number
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
        for (index, line) in text.split(separator: "\n").enumerated() where line.hasPrefix("cpu ") {
            let values = line.split(whereSeparator: \.isWhitespace).dropFirst().map { UInt64($0) }
            guard values.count >= 4, values.allSatisfy({ $0 != nil }) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected CPU tick counts, got \(quote(line))")
            }
            let ticks = values.map { $0! }
            // user nice system idle iowait irq softirq steal (guest time is already in user/nice).
            let counted = ticks.prefix(8)
            let total = counted.reduce(0, +)
            let idle = ticks[3] + (ticks.count > 4 ? ticks[4] : 0)
            return CPUTimes(busy: total - idle, total: total)
        }
        throw MetricsParseError(file: file, line: 1, reason: "no aggregate 'cpu' line")
    }

    /// `/proc/stat`: `btime`, the boot time in seconds since the epoch.
    public static func bootTime(_ text: String, file: String = "/proc/stat") throws(MetricsParseError) -> UInt64 {
        for (index, line) in text.split(separator: "\n").enumerated() where line.hasPrefix("btime ") {
            guard let value = UInt64(line.dropFirst(6).trimmingCharacters()) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected seconds, got \(quote(line))")
            }
            return value
        }
        throw MetricsParseError(file: file, line: 1, reason: "no 'btime' line")
    }

    /// `/proc/<pid>/stat`: field 22, the process start time in clock ticks after boot.
    /// The command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
    public static func processStartTicks(_ text: String, file: String = "/proc/1/stat") throws(MetricsParseError) -> UInt64 {
        guard let close = text.lastIndex(of: ")") else {
            throw MetricsParseError(file: file, line: 1, reason: "no command name in parentheses")
        }
        let fields = text[text.index(after: close)...].split(whereSeparator: \.isWhitespace)
        // After ')' come field 3 (state) onwards; field 22 is at offset 19.
        guard fields.count > 19, let ticks = UInt64(fields[19]) else {
            throw MetricsParseError(file: file, line: 1, reason: "expected a start time in field 22")
        }
        return ticks
    }

    /// `/proc/net/dev`: bytes received and sent, summed over every interface except loopback.
    public static func networkBytes(_ text: String, file: String = "/proc/net/dev") throws(MetricsParseError) -> (received: UInt64, sent: UInt64) {
        var received: UInt64 = 0
        var sent: UInt64 = 0
        for (index, line) in text.split(separator: "\n").enumerated() where index >= 2 {
            guard let colon = line.firstIndex(of: ":") else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 'interface: counters', got \(quote(line))")
            }
            let name = line[..<colon].trimmingCharacters()
            let fields = line[line.index(after: colon)...].split(whereSeparator: \.isWhitespace)
            guard fields.count >= 9, let rx = UInt64(fields[0]), let tx = UInt64(fields[8]) else {
                throw MetricsParseError(file: file, line: index + 1, reason: "expected 16 counters, got \(quote(line))")
            }
            if name == "lo" { continue }
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

extension StringProtocol {
    func trimmingCharacters() -> SubSequence {
        guard let start = firstIndex(where: { !$0.isWhitespace }), let end = lastIndex(where: { !$0.isWhitespace }) else {
            return self[endIndex...]
        }
        return self[start...end]
    }
}
