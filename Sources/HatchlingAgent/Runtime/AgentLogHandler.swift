import FleetProtocol
import HatchlingSystem
import Logging
import Synchronization

/// The process's log level (`LOG_LEVEL`), shared by every handler so that a reload takes effect at
/// once. Set through `value` (the reload does), never through a handler's `logLevel`.
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

/// One line per event on standard error, in `LogFormat`: `2026-11-29T05:00:00.120Z info hatchling-agent:
/// connected mqtt.broker=...` by default. Metadata values are printed as they are given; callers
/// never pass a secret.
///
/// The level is the process's (`SharedLogLevel`) until this handler's `logLevel` is set: as
/// swift-log's contract asks, that changes this handler value (this `Logger`) only, and from then
/// on it keeps its own level, whatever a reload sets for the rest.
public struct AgentLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sharedLevel: SharedLogLevel
    /// Set by `logLevel`'s setter: this handler's own level, which wins over the shared one.
    private var ownLevel: Logger.Level? = nil
    private let format: LogFormat

    public init(label: String, level: SharedLogLevel, format: LogFormat = .text) {
        self.label = label
        self.sharedLevel = level
        self.format = format
    }

    public var logLevel: Logger.Level {
        get { ownLevel ?? sharedLevel.value }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        // One line, built as bytes and written with one write(2). A line is logged for every
        // command, so this stays cheap: no String building, no reflection for the level's name.
        Self.writeLine(Self.line(for: event, label: label, metadata: metadata, at: .now(), format: format))
    }

    /// Writes one line with `fields` as they are, when `level` passes this handler's level: for a
    /// caller that has its fields sorted by key already and knows this handler has no metadata of
    /// its own (`metadata` empty), the line `log(event:)` would write, without a `Logger.Metadata`
    /// dictionary built, merged and sorted for it (the event loop's line per command: a third of
    /// a command's instructions went there).
    public func write(level: Logger.Level, message: String, sortedFields: [(String, String)]) {
        guard level >= logLevel else { return }
        Self.writeLine(LogLine.bytes(format: format, time: .now(), level: level.rawValue, label: label, message: message, fields: sortedFields))
    }

    /// One write(2) on standard error (retried when short or interrupted); a line that cannot be
    /// written is dropped.
    private static func writeLine(_ line: [UInt8]) {
        Syscall.writeAll(2, line)
    }

    /// The bytes of one line, newline included (`LogLine`): time, level, label, message, then the
    /// metadata (the handler's and the event's, the event's winning) sorted by key.
    static func line(for event: LogEvent, label: String, metadata: Logger.Metadata, at time: FleetTimestamp, format: LogFormat = .text) -> [UInt8] {
        LogLine.bytes(
            format: format, time: time, level: event.level.rawValue, label: label, message: event.message.description, fields: fields(metadata, event)
        )
    }

    /// The handler's and the event's metadata (the event's winning), as text, sorted by key.
    static func fields(_ metadata: Logger.Metadata, _ event: LogEvent) -> [(String, String)] {
        var fields = metadata
        if let extra = event.metadata {
            if fields.isEmpty { fields = extra } else { fields.merge(extra) { $1 } }
        }
        return fields.keys.sorted().map { key in
            switch fields[key]! {
            case .string(let text): (key, text)
            case .stringConvertible(let value): (key, value.description)
            case let other: (key, other.description)
            }
        }
    }
}
