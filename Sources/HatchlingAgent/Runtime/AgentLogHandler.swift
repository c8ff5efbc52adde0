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

/// How log lines are written (`LOG_FORMAT`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-29T05:00:00.120Z info hatchling-agent: connected mqtt.broker=...`, for people.
    case text
    /// `ts=2026-11-29T05:00:00.120Z level=info logger=hatchling-agent msg=connected mqtt.broker=...`,
    /// for Loki, Vector and other logfmt readers.
    case logfmt
    /// `{"level":"info","logger":"hatchling-agent","msg":"connected","mqtt.broker":"...","ts":"..."}`.
    case json
}

/// One line per event on standard error, in `LogFormat`: `2026-11-29T05:00:00.120Z info hatchling-agent:
/// connected mqtt.broker=...` by default. Metadata values are printed as they are given; callers
/// never pass a secret.
public struct AgentLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let sharedLevel: SharedLogLevel
    private let format: LogFormat

    public init(label: String, level: SharedLogLevel, format: LogFormat = .text) {
        self.label = label
        self.sharedLevel = level
        self.format = format
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
        // One line, built as bytes and written with one write(2). A line is logged for every
        // command, so this stays cheap: no String building, no reflection for the level's name.
        let line = Self.line(for: event, label: label, metadata: metadata, at: .now(), format: format)
        line.withUnsafeBufferPointer { buffer in
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

    /// The bytes of one line, newline included: time, level, label, message, then the metadata
    /// (the handler's and the event's, the event's winning) sorted by key.
    static func line(for event: LogEvent, label: String, metadata: Logger.Metadata, at time: FleetTimestamp, format: LogFormat = .text) -> [UInt8] {
        switch format {
        case .text: break
        case .logfmt: return logfmtLine(for: event, label: label, metadata: metadata, at: time)
        case .json: return jsonLine(for: event, label: label, metadata: metadata, at: time)
        }
        var line: [UInt8] = []
        line.reserveCapacity(256)
        time.appendRFC3339(to: &line)
        line.append(0x20)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(0x20)
        line.append(contentsOf: label.utf8)
        line.append(contentsOf: [UInt8(ascii: ":"), 0x20])
        Self.appendMessage(event.message.description, to: &line)
        var fields = metadata
        if let extra = event.metadata {
            if fields.isEmpty { fields = extra } else { fields.merge(extra) { $1 } }
        }
        for key in fields.keys.sorted() {
            line.append(0x20)
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            switch fields[key]! {
            case .string(let text): Self.appendValue(text, to: &line)
            case .stringConvertible(let value): Self.appendValue(value.description, to: &line)
            case let other: Self.appendValue(other.description, to: &line)
            }
        }
        line.append(0x0A)
        return line
    }

    /// The handler's and the event's metadata (the event's winning), as text, sorted by key.
    static func fields(_ metadata: Logger.Metadata, _ event: LogEvent) -> [(String, String)] {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        return fields.keys.sorted().map { key in
            switch fields[key]! {
            case .string(let text): (key, text)
            case .stringConvertible(let value): (key, value.description)
            case let other: (key, other.description)
            }
        }
    }

    /// `ts=… level=… logger=… msg=… key=value…`: the reserved keys first, a metadata key that
    /// would clash with one gets a `meta.` prefix; values quoted as in the text form.
    static func logfmtLine(for event: LogEvent, label: String, metadata: Logger.Metadata, at time: FleetTimestamp) -> [UInt8] {
        var line: [UInt8] = Array("ts=".utf8)
        time.appendRFC3339(to: &line)
        let reserved: Set<String> = ["ts", "level", "logger", "msg"]
        var pairs = [("level", event.level.rawValue), ("logger", label), ("msg", event.message.description)]
        pairs += fields(metadata, event).map { reserved.contains($0.0) ? ("meta." + $0.0, $0.1) : $0 }.sorted { $0.0 < $1.0 }
        for (key, value) in pairs {
            line.append(0x20)
            line.append(contentsOf: key.utf8.filter { $0 > 0x20 && $0 != 0x3D && $0 != 0x22 && $0 != 0x7F })
            line.append(UInt8(ascii: "="))
            appendValue(value, to: &line)
        }
        line.append(0x0A)
        return line
    }

    /// One JSON object: `ts`, `level`, `logger`, `msg` and the metadata (a clashing key gets a
    /// `meta.` prefix), keys sorted, escaped as JSON escapes them (no raw control character).
    static func jsonLine(for event: LogEvent, label: String, metadata: Logger.Metadata, at time: FleetTimestamp) -> [UInt8] {
        let reserved: Set<String> = ["ts", "level", "logger", "msg"]
        var pairs = [("level", event.level.rawValue), ("logger", label), ("msg", event.message.description), ("ts", time.description)]
        pairs += fields(metadata, event).map { reserved.contains($0.0) ? ("meta." + $0.0, $0.1) : $0 }
        pairs.sort { $0.0 < $1.0 }
        var writer = JSONWriter(capacity: 256)
        writer.beginObject()
        for (key, value) in pairs {
            writer.dynamicKey(key)
            writer.string(value)
        }
        writer.endObject()
        return writer.bytes + [0x0A]
    }

    /// Appends the message as it is, but for control characters, escaped: a newline in it must
    /// not start what looks like another line.
    static func appendMessage(_ message: String, to line: inout [UInt8]) {
        for byte in message.utf8 {
            if byte < 0x20 || byte == 0x7F { appendEscaped(byte, to: &line) } else { line.append(byte) }
        }
    }

    /// Appends a value, in double quotes when it is empty or holds a space, `"`, `=`, `\` or a
    /// control character; inside the quotes `"` and `\` are escaped, and control characters written
    /// as `\n`, `\r`, `\t` or `\u00XX` (a value taken from a request can never forge a line).
    static func appendValue(_ value: String, to line: inout [UInt8]) {
        let utf8 = value.utf8
        @inline(__always) func special(_ byte: UInt8) -> Bool {
            byte <= 0x20 || byte == 0x22 || byte == 0x3D || byte == 0x5C || byte == 0x7F
        }
        let needsQuotes = utf8.isEmpty || (utf8.withContiguousStorageIfAvailable { $0.contains(where: special) } ?? utf8.contains(where: special))
        guard needsQuotes else {
            line.append(contentsOf: utf8)
            return
        }
        line.append(0x22)
        for byte in utf8 {
            switch byte {
            case 0x22, 0x5C:
                line.append(0x5C)
                line.append(byte)
            case 0x20: line.append(byte)
            case ..<0x20, 0x7F: appendEscaped(byte, to: &line)
            default: line.append(byte)
            }
        }
        line.append(0x22)
    }

    /// A control character as `\n`, `\r`, `\t` or `\u00XX`.
    static func appendEscaped(_ byte: UInt8, to line: inout [UInt8]) {
        line.append(0x5C)
        switch byte {
        case 0x0A: line.append(UInt8(ascii: "n"))
        case 0x0D: line.append(UInt8(ascii: "r"))
        case 0x09: line.append(UInt8(ascii: "t"))
        default:
            let hex = Array("0123456789abcdef".utf8)
            line.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]])
        }
    }
}
