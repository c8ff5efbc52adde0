import HatchlingSystem

/// Appends compact JSON to a byte buffer, for the payloads the agent writes on every command and
/// every heartbeat.
///
/// `JSONEncoder` was 60 % of the instructions of one command (its generic Codable machinery and the
/// snake_case key conversion, redone for every key on every encode). The payloads have fixed
/// shapes, so each one writes its keys directly, already in snake_case and already sorted. The
/// bytes are the same as `JSONEncoder`'s under `FleetJSON`'s settings: the tests hold every shape
/// against it, with the golden values and with generated ones (escapes, non-ASCII text, extreme
/// numbers).
///
/// Commas are implied: a key or an array element that does not follow `{` or `[` gets one.
public struct JSONWriter: ~Copyable {
    // A buffer of its own rather than an `[UInt8]`: under `-Osize` every `Array.append` is a call
    // that checks uniqueness and capacity, and a response is a few hundred of them.
    private var storage: UnsafeMutablePointer<UInt8>
    private var count = 0
    private var capacity: Int

    public init(capacity: Int = 512) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    /// The bytes written so far.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: storage, count: count)) }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(to: count + extra) }
    }

    @inline(never)
    private mutating func grow(to needed: Int) {
        let larger = max(capacity * 2, needed)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.update(from: storage, count: count)
        storage.deallocate()
        storage = moved
        capacity = larger
    }

    @inline(__always)
    mutating func put(_ byte: UInt8) {
        reserve(1)
        storage[count] = byte
        count &+= 1
    }

    @inline(__always)
    mutating func put(_ buffer: UnsafeBufferPointer<UInt8>) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        reserve(buffer.count)
        (storage + count).update(from: base, count: buffer.count)
        count &+= buffer.count
    }

    @inline(__always)
    mutating func put(_ text: StaticString) {
        text.withUTF8Buffer { put($0) }
    }

    @inline(__always)
    mutating func separate() {
        guard count > 0 else { return }
        let last = storage[count - 1]
        if last != UInt8(ascii: "{"), last != UInt8(ascii: "["), last != UInt8(ascii: ":") {
            put(UInt8(ascii: ","))
        }
    }

    @inline(__always)
    public mutating func beginObject() {
        separate()
        put(UInt8(ascii: "{"))
    }

    @inline(__always)
    public mutating func endObject() { put(UInt8(ascii: "}")) }

    public mutating func beginArray() {
        separate()
        put(UInt8(ascii: "["))
    }

    public mutating func endArray() { put(UInt8(ascii: "]")) }

    /// Writes `"key":`. The key is a literal that needs no escaping (the payloads' snake_case keys).
    @inline(__always)
    public mutating func key(_ key: StaticString) {
        separate()
        key.withUTF8Buffer { name in
            reserve(name.count + 3)
            storage[count] = UInt8(ascii: "\"")
            if let base = name.baseAddress { (storage + count + 1).update(from: base, count: name.count) }
            storage[count + 1 + name.count] = UInt8(ascii: "\"")
            storage[count + 2 + name.count] = UInt8(ascii: ":")
            count &+= name.count + 3
        }
    }

    /// Writes a string value, escaped as `JSONEncoder` escapes it with `.withoutEscapingSlashes`.
    public mutating func string(_ value: String) {
        separate()
        put(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                put(UnsafeBufferPointer(rebasing: utf8[runStart..<index]))
                runStart = index + 1
                put(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): put(byte)
                case 0x08: put(UInt8(ascii: "b"))
                case 0x0C: put(UInt8(ascii: "f"))
                case 0x0A: put(UInt8(ascii: "n"))
                case 0x0D: put(UInt8(ascii: "r"))
                case 0x09: put(UInt8(ascii: "t"))
                default:
                    put("u00")
                    for digit in Hex.encode(CollectionOfOne(byte)).utf8 { put(digit) }
                }
            }
            put(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
        }
        put(UInt8(ascii: "\""))
    }

    public mutating func string(_ value: String?) {
        if let value { string(value) } else { null() }
    }

    @inline(__always)
    public mutating func bool(_ value: Bool) {
        separate()
        if value {
            put("true")
        } else {
            put("false")
        }
    }

    @inline(__always)
    /// Writes a value that is already JSON, as it is: the caller has checked it (an event's data,
    /// which `EventPayload.checkData` held to RFC 8259).
    public mutating func raw(_ json: [UInt8]) {
        separate()
        json.withUnsafeBufferPointer { put($0) }
    }

    public mutating func null() {
        separate()
        put("null")
    }

    @inline(__always)
    public mutating func number(_ value: Int) {
        if value < 0 {
            separate()
            put(UInt8(ascii: "-"))
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
            put(UnsafeBufferPointer(rebasing: buffer[start..<20]))
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
            put(UnsafeBufferPointer(rebasing: utf8[0..<count]))
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
        writer.put(UInt8(ascii: "\""))
        withRFC3339 { writer.put($0) }
        writer.put(UInt8(ascii: "\""))
    }

    /// Appends the RFC 3339 text (`2026-11-29T05:00:00.120Z`), digit by digit, with no String.
    public func appendRFC3339(to bytes: inout [UInt8]) {
        withRFC3339 { bytes.append(contentsOf: $0) }
    }

    /// Runs `body` with the RFC 3339 text, written into a buffer on the stack: the year with at
    /// least four digits (more past 9999, a sign before year 0), then fixed two-digit fields.
    func withRFC3339<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        // Floor division throughout (no subtraction that could overflow at Int64.min).
        var (seconds, millis) = millisecondsSinceEpoch.quotientAndRemainder(dividingBy: 1000)
        if millis < 0 { (seconds, millis) = (seconds - 1, millis + 1000) }
        var (days, secondOfDay64) = seconds.quotientAndRemainder(dividingBy: 86_400)
        if secondOfDay64 < 0 { (days, secondOfDay64) = (days - 1, secondOfDay64 + 86_400) }
        let secondOfDay = Int(secondOfDay64)
        let (year, month, day) = Self.civil(fromDays: days)
        // An Int64 of milliseconds reaches about year 292 million: 9 digits, a sign, 20 more bytes.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var end = 0
            @inline(__always) func put(_ byte: UInt8) {
                buffer[end] = byte
                end += 1
            }
            @inline(__always) func two(_ value: Int) {
                put(UInt8(ascii: "0") &+ UInt8(value / 10))
                put(UInt8(ascii: "0") &+ UInt8(value % 10))
            }
            if year < 0 { put(UInt8(ascii: "-")) }
            var magnitude = year.magnitude
            var digits: [UInt8] = []
            if magnitude < 10_000 {
                two(Int(magnitude / 100))
                two(Int(magnitude % 100))
            } else {
                while magnitude > 0 {
                    digits.append(UInt8(ascii: "0") &+ UInt8(magnitude % 10))
                    magnitude /= 10
                }
                for digit in digits.reversed() { put(digit) }
            }
            put(UInt8(ascii: "-"))
            two(Int(month))
            put(UInt8(ascii: "-"))
            two(Int(day))
            put(UInt8(ascii: "T"))
            two(secondOfDay / 3600)
            put(UInt8(ascii: ":"))
            two(secondOfDay / 60 % 60)
            put(UInt8(ascii: ":"))
            two(secondOfDay % 60)
            put(UInt8(ascii: "."))
            put(UInt8(ascii: "0") &+ UInt8(millis / 100))
            two(Int(millis % 100))
            put(UInt8(ascii: "Z"))
            return body(UnsafeBufferPointer(rebasing: buffer[0..<end]))
        }
    }
}
