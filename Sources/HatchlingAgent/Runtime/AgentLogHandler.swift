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
        // One line, built as bytes and written with one write(2). A line is logged for every
        // command, so this stays cheap: no String building, no reflection for the level's name.
        let line = Self.line(for: event, label: label, metadata: metadata, at: .now())
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
    static func line(for event: LogEvent, label: String, metadata: Logger.Metadata, at time: FleetTimestamp) -> [UInt8] {
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
