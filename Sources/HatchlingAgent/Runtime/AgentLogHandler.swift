import FleetProtocol
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The log level in force, shared by every logger so that a reload of `LOG_LEVEL` takes effect at once.
public final class SharedLogLevel: Sendable {
    private let level: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        self.level = Mutex(level)
    }

    public var value: Logger.Level {
        get { level.withLock { $0 } }
        set { level.withLock { $0 = newValue } }
    }
}

/// One line per event on standard error: `2026-11-29T05:00:00.120Z info hatchling-agent: connected mqtt.broker=...`.
/// Metadata values are printed as they are given; callers never pass a secret.
public struct AgentLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sharedLevel: SharedLogLevel

    public init(label: String, level: SharedLogLevel) {
        self.label = label
        self.sharedLevel = level
    }

    public var logLevel: Logger.Level {
        get { sharedLevel.value }
        set { sharedLevel.value = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // One line, built once and written with one write(2): a line is logged for every command,
        // so this stays cheap (no sorting of an empty dictionary, no Character-level scanning).
        var line = FleetTimestamp.now().description
        line.reserveCapacity(160)
        line += " \(event.level) \(label): \(event.message)"
        var fields = metadata
        if let extra = event.metadata {
            if fields.isEmpty { fields = extra } else { fields.merge(extra) { $1 } }
        }
        for key in fields.keys.sorted() {
            line += " "
            line += key
            line += "="
            Self.appendValue("\(fields[key]!)", to: &line)
        }
        line += "\n"
        var utf8 = line
        utf8.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 {
                    if errno == EINTR { continue }
                    return
                }
                offset += written
            }
        }
    }

    /// Appends a value, in double quotes (with `"` escaped) when it is empty or holds a space, `"` or `=`.
    static func appendValue(_ value: String, to line: inout String) {
        let needsQuotes = value.isEmpty || value.utf8.contains { $0 == 0x20 || $0 == 0x22 || $0 == 0x3D }
        guard needsQuotes else {
            line += value
            return
        }
        line += "\""
        if value.utf8.contains(0x22) {
            for character in value { line += character == "\"" ? "\\\"" : String(character) }
        } else {
            line += value
        }
        line += "\""
    }
}

