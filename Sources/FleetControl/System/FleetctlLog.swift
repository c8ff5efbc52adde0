import FleetProtocol
import HatchlingSystem

/// fleetctl's own lines on standard error: progress, warnings, errors. Never a secret, never a
/// payload's content (a payload is described by its topic and size).
///
/// `LOG_FORMAT` chooses the form, as for the agent: `text` (the default) writes the line as it is,
/// for a person at a terminal (`fleetctl exporter: connected to ...`); `logfmt` and `json` write one
/// event per line with `ts`, `level`, `logger` and `msg` (the subcommand in `command`), for Loki,
/// Vector and other shippers: `ts=... level=info logger=fleetctl msg="connected to ..." command=exporter`.
public struct FleetctlLog: Sendable {
    public enum Level: String, Sendable {
        case info, warning, error
    }

    let sink: @Sendable (Level, String) -> Void

    public init(_ sink: @escaping @Sendable (Level, String) -> Void) {
        self.sink = sink
    }

    /// Lines to standard error, in `LOG_FORMAT`.
    public static let standardError = FleetctlLog { level, line in Terminal.log(line, level: level) }

    public func info(_ line: String) { sink(.info, line) }
    public func warning(_ line: String) { sink(.warning, line) }
    public func error(_ line: String) { sink(.error, line) }

    /// `LOG_FORMAT` as set, or nil when it names no format (`fleetctl` then refuses to start).
    public static func format(environment value: String?) -> LogFormat? {
        guard let value, !value.isEmpty else { return .text }
        return LogFormat(rawValue: value.lowercased())
    }

    /// The bytes of one line in `format`: `fleetctl <command>: <message>` becomes logger `fleetctl`,
    /// field `command`, and the message.
    static func bytes(_ line: String, level: Level, format: LogFormat, at time: FleetTimestamp) -> [UInt8] {
        guard format != .text else { return Array((line + "\n").utf8) }
        var message = Substring(line)
        var fields: [(String, String)] = []
        if line.hasPrefix("fleetctl"), let colon = line.firstRange(of: ": ") {
            let head = line[line.startIndex..<colon.lowerBound]
            let command = head.dropFirst("fleetctl".count).drop { $0 == " " }
            if head == "fleetctl" || (head.hasPrefix("fleetctl ") && !command.isEmpty && !command.contains(" ")) {
                if !command.isEmpty { fields.append(("command", String(command))) }
                message = line[colon.upperBound...]
            }
        }
        return LogLine.bytes(format: format, time: time, level: level.rawValue, label: "fleetctl", message: String(message), fields: fields)
    }
}

extension Terminal {
    /// The form of fleetctl's log lines, from `LOG_FORMAT` (fleetctl's main refuses a value that
    /// names no format before anything is logged).
    public static let logFormat: LogFormat = FleetctlLog.format(environment: getenv("LOG_FORMAT").map { String(cString: $0) }) ?? .text

    /// Writes one log line to standard error in `logFormat`.
    public static func log(_ line: String, level: FleetctlLog.Level) {
        write(fd: 2, FleetctlLog.bytes(line, level: level, format: logFormat, at: .now()))
    }
}
