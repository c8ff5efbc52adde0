import HatchlingSystem

/// How log lines are written (`LOG_FORMAT`), by the agent, its entrypoint and fleetctl alike, so
/// that one log shipper rule reads them all.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `2026-11-29T05:00:00.120Z info hatchling-agent: connected mqtt.broker=...`, for people.
    case text
    /// `ts=2026-11-29T05:00:00.120Z level=info logger=hatchling-agent msg=connected mqtt.broker=...`,
    /// for Loki, Vector and other logfmt readers.
    case logfmt
    /// `{"level":"info","logger":"hatchling-agent","msg":"connected","mqtt.broker":"...","ts":"..."}`.
    case json
}

/// One log line, newline included, in a `LogFormat`. Pure: the caller gives the time. Values are
/// written as they are given (callers never pass a secret), but no byte of a message or a value
/// can start another line or break the quoting.
public enum LogLine {
    /// The keys every format writes first; a field with one of these names gets a `meta.` prefix.
    static let reserved: Set<String> = ["ts", "level", "logger", "msg"]

    /// `fields` in the order to write them (the callers sort them by key).
    public static func bytes(
        format: LogFormat, time: FleetTimestamp, level: String, label: String, message: String, fields: [(String, String)]
    ) -> [UInt8] {
        switch format {
        case .text: text(time: time, level: level, label: label, message: message, fields: fields)
        case .logfmt: logfmt(time: time, level: level, label: label, message: message, fields: fields)
        case .json: json(time: time, level: level, label: label, message: message, fields: fields)
        }
    }

    /// `<ts> <level> <label>: <message> key=value...`: the message as it is but for control
    /// characters; values quoted when they need it.
    static func text(time: FleetTimestamp, level: String, label: String, message: String, fields: [(String, String)]) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        time.appendRFC3339(to: &line)
        line.append(0x20)
        line.append(contentsOf: level.utf8)
        line.append(0x20)
        line.append(contentsOf: label.utf8)
        line.append(contentsOf: [UInt8(ascii: ":"), 0x20])
        appendMessage(message, to: &line)
        for (key, value) in fields {
            line.append(0x20)
            line.append(contentsOf: key.utf8)
            line.append(UInt8(ascii: "="))
            appendValue(value, to: &line)
        }
        line.append(0x0A)
        return line
    }

    /// `ts=… level=… logger=… msg=… key=value…`: the reserved keys first, a field that would clash
    /// with one gets a `meta.` prefix; values quoted as in the text form.
    static func logfmt(time: FleetTimestamp, level: String, label: String, message: String, fields: [(String, String)]) -> [UInt8] {
        var line: [UInt8] = Array("ts=".utf8)
        time.appendRFC3339(to: &line)
        var pairs = [("level", level), ("logger", label), ("msg", message)]
        pairs += fields.map { reserved.contains($0.0) ? ("meta." + $0.0, $0.1) : $0 }.sorted { $0.0 < $1.0 }
        for (key, value) in pairs {
            line.append(0x20)
            line.append(contentsOf: key.utf8.filter { $0 > 0x20 && $0 != 0x3D && $0 != 0x22 && $0 != 0x7F })
            line.append(UInt8(ascii: "="))
            appendValue(value, to: &line)
        }
        line.append(0x0A)
        return line
    }

    /// One JSON object: `ts`, `level`, `logger`, `msg` and the fields (a clashing key gets a `meta.`
    /// prefix), keys sorted, escaped as JSON escapes them (no raw control character).
    static func json(time: FleetTimestamp, level: String, label: String, message: String, fields: [(String, String)]) -> [UInt8] {
        var pairs = [("level", level), ("logger", label), ("msg", message), ("ts", time.description)]
        pairs += fields.map { reserved.contains($0.0) ? ("meta." + $0.0, $0.1) : $0 }
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
            line.append(contentsOf: "u00".utf8)
            line.append(contentsOf: Hex.encode(CollectionOfOne(byte)).utf8)
        }
    }
}
