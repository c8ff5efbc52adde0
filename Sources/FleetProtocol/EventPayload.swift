/// An event from the gateway, published by the agent on `fleet/<name>/event` (QoS 1, not retained):
/// `{"boot_id":…,"data":{…},"event":"task-done","seq":7,"ts":…,"v":1}`.
///
/// The gateway hands the agent only `event` and `data` (over the agent's local socket); the agent
/// checks both (`checkName`, `checkData`), adds the rest and publishes. The hub reads it back with `parse`.
public struct EventPayload: Sendable, Equatable {
    /// The longest event name.
    public static let maximumNameBytes = 64
    /// The largest `data` object, in bytes as sent.
    public static let maximumDataBytes = 2048

    public var v: Int = FleetProtocolVersion.current
    /// 1-64 of `a-z 0-9 -`.
    public var event: String
    /// One JSON object, exactly as the gateway sent it (checked, at most 2048 bytes).
    public var data: [UInt8]
    public var ts: FleetTimestamp
    public var bootId: String
    /// Counts this run's events from 1, so the hub can tell a lost one (QoS 1 may also repeat one).
    public var seq: UInt64

    public init(event: String, data: [UInt8], ts: FleetTimestamp, bootId: String, seq: UInt64) {
        self.event = event
        self.data = data
        self.ts = ts
        self.bootId = bootId
        self.seq = seq
    }

    /// Why an event cannot go on the bus. `code` is the refusal's wire name (docs/protocol.md).
    public struct Refusal: Error, Sendable, Equatable {
        public enum Code: String, Sendable {
            case badName = "bad-name"
            case badData = "bad-data"
            case tooLarge = "too-large"
            case secret
            case rateLimited = "rate-limited"
        }
        public var code: Code
        public var message: String

        public init(_ code: Code, _ message: String) {
            self.code = code
            self.message = message
        }
    }

    /// Checks a name: 1 to 64 of `a-z 0-9 -`.
    public static func checkName(_ name: String) -> Refusal? {
        let bytes = Array(name.utf8)
        if bytes.isEmpty { return Refusal(.badName, "the event name is empty") }
        if bytes.count > maximumNameBytes {
            return Refusal(.badName, "the event name is \(bytes.count) bytes; at most \(maximumNameBytes)")
        }
        if let bad = bytes.firstIndex(where: { !isNameByte($0) }) {
            return Refusal(.badName, "the event name may hold only a-z, 0-9 and '-' (byte \(bad + 1) is not one)")
        }
        return nil
    }

    /// Checks `data`: one JSON object of at most 2048 bytes, nested no deeper than a command may be,
    /// holding none of `secrets` (the agent's own password and command key, tried as given and in
    /// every decoded string) and no credential shape (`SecretScanner.credentialShapes`). The
    /// refusal never repeats the value it found.
    public static func checkData(_ data: ArraySlice<UInt8>, secrets: [[UInt8]] = []) -> Refusal? {
        if data.count > maximumDataBytes {
            return Refusal(.tooLarge, "the data is \(data.count) bytes; at most \(maximumDataBytes)")
        }
        guard let strings = JSONScan.strings(data) else {
            return Refusal(
                .badData, "the data must be one JSON object (RFC 8259, nested at most \(JSONScan.maximumDepth) levels)")
        }
        let decoded = strings.map { Array($0.utf8) }
        for secret in secrets where !secret.isEmpty {
            if contains(data, secret) || decoded.contains(where: { contains($0[...], secret) }) {
                return Refusal(.secret, "the data holds one of the agent's own credentials")
            }
        }
        var kinds = SecretScanner.credentialShapes(Array(data))
        for text in decoded where kinds.isEmpty { kinds = SecretScanner.credentialShapes(text) }
        if let kind = kinds.first {
            return Refusal(.secret, "the data holds what looks like \(kind)")
        }
        return nil
    }

    /// Reads an event published on the bus; nil when it is not one (`problems` says why).
    public static func parse(_ payload: [UInt8]) -> EventPayload? {
        guard case .success(let event) = read(payload) else { return nil }
        return event
    }

    /// What is wrong with a payload on an event topic, against the contract (empty when nothing is).
    public static func problems(_ payload: [UInt8]) -> [String] {
        switch read(payload) {
        case .success: return []
        case .failure(let problems): return problems.list
        }
    }

    struct Problems: Error {
        var list: [String]
    }

    static func read(_ payload: [UInt8]) -> Result<EventPayload, Problems> {
        guard let fields = JSONScan.fields(payload[...]) else {
            return .failure(Problems(list: ["not one JSON object (or a key given twice)"]))
        }
        var problems: [String] = []
        func raw(_ key: String) -> ArraySlice<UInt8>? { fields.first { $0.key == key }.map { payload[$0.range] } }
        func text(_ key: String) -> String? { raw(key).flatMap { JSONScan.string($0) } }
        func integer(_ key: String) -> UInt64? {
            guard let bytes = raw(key), !bytes.isEmpty, bytes.count <= 20, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            return UInt64(String(decoding: bytes, as: UTF8.self))
        }
        let known: Set<String> = ["v", "event", "data", "ts", "boot_id", "seq"]
        for field in fields where !known.contains(field.key) { problems.append("unknown field \"\(field.key)\"") }
        if integer("v") != UInt64(FleetProtocolVersion.current) { problems.append("v must be \(FleetProtocolVersion.current)") }
        let name = text("event")
        if let name {
            if let refusal = checkName(name) { problems.append(refusal.message) }
        } else {
            problems.append("event must be a string")
        }
        let data = raw("data")
        if let data {
            if data.first != UInt8(ascii: "{") {
                problems.append("data must be an object")
            } else if data.count > maximumDataBytes {
                problems.append("data is \(data.count) bytes; at most \(maximumDataBytes)")
            }
        } else {
            problems.append("data is missing")
        }
        let ts = text("ts").flatMap { FleetTimestamp(rfc3339: $0) }
        if ts == nil { problems.append("ts must be an RFC 3339 time") }
        let bootId = text("boot_id")
        if bootId.map(isBootID) != true { problems.append("boot_id must be 32 lower-case hex digits") }
        let seq = integer("seq")
        if seq == nil || seq == 0 { problems.append("seq must be a whole number from 1") }
        guard problems.isEmpty, let name, let data, let ts, let bootId, let seq else { return .failure(Problems(list: problems)) }
        return .success(EventPayload(event: name, data: Array(data), ts: ts, bootId: bootId, seq: seq))
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == UInt8(ascii: "-")
    }

    static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = haystack.startIndex
        let last = haystack.endIndex - needle.count
        while index <= last {
            if haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

extension EventPayload: JSONWritable {
    public func write(to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("boot_id")
        writer.string(bootId)
        writer.key("data")
        writer.raw(data)
        writer.key("event")
        writer.string(event)
        writer.key("seq")
        writer.number(seq)
        writer.key("ts")
        writer.value(ts)
        writer.key("v")
        writer.number(v)
        writer.endObject()
    }
}
