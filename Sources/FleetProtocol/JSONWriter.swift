/// Appends compact JSON to a byte buffer, for the payloads the agent writes on every command and
/// every heartbeat.
///
/// `JSONEncoder` was 60 % of the instructions of one command (its generic Codable machinery and the
/// snake_case key conversion, redone for every key on every encode). The payloads have fixed
/// shapes, so each one writes its keys directly, already in snake_case and already sorted. The
/// bytes are the same as `FleetJSON.encodeWithFoundation`'s: the tests hold every shape against it,
/// with the golden values and with generated ones (escapes, non-ASCII text, extreme numbers).
///
/// Commas are implied: a key or an array element that does not follow `{` or `[` gets one.
public struct JSONWriter: Sendable {
    public internal(set) var bytes: [UInt8]

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inline(__always)
    mutating func separate() {
        if let last = bytes.last, last != UInt8(ascii: "{"), last != UInt8(ascii: "["), last != UInt8(ascii: ":") {
            bytes.append(UInt8(ascii: ","))
        }
    }

    @inline(__always)
    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
    }

    @inline(__always)
    public mutating func endObject() { bytes.append(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
    }

    public mutating func endArray() { bytes.append(UInt8(ascii: "]")) }

    /// Writes `"key":`. The key is a literal that needs no escaping (the payloads' snake_case keys).
    @inline(__always)
    public mutating func key(_ key: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Writes a string value, escaped as `JSONEncoder` escapes it with `.withoutEscapingSlashes`.
    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    @inline(__always)
    public mutating func bool(_ value: Bool) {
        separate()
        if value {
            bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            bytes.append(contentsOf: [UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e")])
        }
    }

    @inline(__always)
    public mutating func null() {
        separate()
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    @inline(__always)
    public mutating func number(_ value: Int) {
        if value < 0 {
            separate()
            bytes.append(UInt8(ascii: "-"))
            appendDigits(value.magnitude)
        } else {
            number(UInt64(value))
        }
    }

    @inline(__always)
    public mutating func number(_ value: UInt64) {
        separate()
        appendDigits(UInt(value))
    }

    @inline(__always)
    private mutating func appendDigits(_ value: UInt) {
        // At most 20 digits; written backwards into a small stack buffer.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var remaining = value
            var start = 20
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
            } while remaining != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start..<20]))
        }
    }

    /// Writes a double as `JSONEncoder` does: Swift's shortest round-trip form without a trailing
    /// `.0`. NaN and infinity have no JSON form and are written as `null`, as a figure that could
    /// not be read (`JSONEncoder` would refuse the whole payload).
    public mutating func number(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        var text = value.description
        text.withUTF8 { utf8 in
            var count = utf8.count
            if count >= 2, utf8[count - 2] == UInt8(ascii: "."), utf8[count - 1] == UInt8(ascii: "0") { count -= 2 }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[0..<count]))
        }
    }

    public mutating func number(_ value: Int?) {
        if let value { number(value) } else { null() }
    }

    public mutating func number(_ value: UInt64?) {
        if let value { number(value) } else { null() }
    }

    public mutating func number(_ value: Double?) {
        if let value { number(value) } else { null() }
    }

    public mutating func bool(_ value: Bool?) {
        if let value { bool(value) } else { null() }
    }

    /// Writes a value that writes itself.
    public mutating func value(_ value: some JSONWritable) {
        value.write(to: &self)
    }
}

/// A payload that writes its own JSON through `JSONWriter`, byte for byte as `JSONEncoder` (with
/// `FleetJSON`'s settings) would write its `Encodable` form.
public protocol JSONWritable {
    func write(to writer: inout JSONWriter)
}

extension FleetTimestamp: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.separate()
        writer.bytes.append(UInt8(ascii: "\""))
        appendRFC3339(to: &writer.bytes)
        writer.bytes.append(UInt8(ascii: "\""))
    }

    /// Appends the RFC 3339 text (`2026-11-29T05:00:00.120Z`), digit by digit, with no String.
    public func appendRFC3339(to bytes: inout [UInt8]) {
        let millis = ((millisecondsSinceEpoch % 1000) + 1000) % 1000
        let seconds = (millisecondsSinceEpoch - millis) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civil(fromDays: days)
        /// At least `width` digits, zero-padded (a year past 9999 gets more); a negative value keeps
        /// its sign in front.
        func put(_ value: Int64, width: Int) {
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            var remaining = value.magnitude
            var divisor: UInt64 = 1
            var digits = 1
            while digits < width || remaining / divisor >= 10 {
                divisor *= 10
                digits += 1
            }
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(remaining / divisor))
                remaining %= divisor
                divisor /= 10
            }
        }
        put(year, width: 4)
        bytes.append(UInt8(ascii: "-"))
        put(month, width: 2)
        bytes.append(UInt8(ascii: "-"))
        put(day, width: 2)
        bytes.append(UInt8(ascii: "T"))
        put(secondOfDay / 3600, width: 2)
        bytes.append(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, width: 2)
        bytes.append(UInt8(ascii: ":"))
        put(secondOfDay % 60, width: 2)
        bytes.append(UInt8(ascii: "."))
        put(millis, width: 3)
        bytes.append(UInt8(ascii: "Z"))
    }
}
