import FoundationEssentials
import HatchlingSystem

/// An event from the gateway, published by the agent on `fleet/<name>/event` (QoS 1, not retained):
/// `{"boot_id":…,"data":{…},"event":"task-done","seq":7,"ts":…,"v":1}`.
///
/// The gateway hands the agent only `event` and `data` (over the agent's local socket); the agent
/// checks both (`checkName`, `prepareData`), adds the rest and publishes. The hub reads it back with `parse`.
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

    /// The deepest nesting an event's data may have (objects and arrays).
    public static let maximumDataDepth = 32

    /// What is wrong with `data` as an event's data, whoever sent it: over 2048 bytes, not UTF-8, not
    /// one JSON object nested at most 32 levels with no key twice in any object, or a string
    /// (key or value) holding a control character other than tab and newline, or a bidirectional
    /// or invisible formatting character (they rewrite what a terminal or a log shows). Nil when
    /// none. The agent refuses such data; the hub does not show it (it may come from a hatchling
    /// that skipped its agent).
    public static func dataProblem(_ data: ArraySlice<UInt8>) -> Refusal? {
        if data.count > maximumDataBytes {
            return Refusal(.tooLarge, "the data is \(data.count) bytes; at most \(maximumDataBytes)")
        }
        guard String(validating: data, as: UTF8.self) != nil else { return Refusal(.badData, "the data is not UTF-8") }
        guard let strings = JSONScan.strictStrings(data, depth: maximumDataDepth) else {
            return Refusal(
                .badData,
                "the data must be one JSON object (RFC 8259), nested at most \(maximumDataDepth) levels, with no key given twice")
        }
        if strings.contains(where: { $0.unicodeScalars.contains(where: isHazard) }) {
            return Refusal(.badData, "the data holds control, bidirectional or invisible characters")
        }
        return nil
    }

    /// Checks an event from the gateway and returns its data as it is published (compacted: no
    /// white space between tokens). Refused: `dataProblem`s; the agent's own `secrets` (its bus
    /// password and command key) in the name or the data, in any letter case, as lower-case hex
    /// or base64, in one string or spread over several; and whatever `SecretScanner` finds in the
    /// data (credential shapes such as `sk-`, `ghp_`, `AKIA`, a PEM block, and long random-looking
    /// strings), in each string and in all of them joined. Best effort against accidents, not a
    /// proof against a gateway that means to leak: see docs/security.md. One message for every
    /// kind of secret, which never repeats the value (a refusal must not tell a guess from a match).
    public static func prepareData(_ data: ArraySlice<UInt8>, name: String = "", secrets: [[UInt8]] = []) -> Result<[UInt8], Refusal> {
        if let problem = dataProblem(data) { return .failure(problem) }
        let (strings, values) = JSONScan.strictStringsAndValues(data, depth: maximumDataDepth) ?? ([], [])
        // Each string alone, the raw data, the name, and the strings joined with nothing between
        // (a key split over two strings), all of them and the values alone, with full-width
        // letters made ASCII.
        let separate = ([Array(data), Array(name.utf8)] + strings.map { Array($0.utf8) }).map(foldedForScanning)
        let joined = [strings.joined(), values.joined()].map { foldedForScanning(Array($0.utf8)) }
        for secret in secrets where !secret.isEmpty {
            let forms = secretForms(secret)
            for text in separate + joined {
                let lowered = text.map(lowercased)
                if forms.contains(where: { SecretScanner.contains(lowered[...], $0) }) { return .failure(secretRefusal) }
            }
        }
        if separate.contains(where: { !SecretScanner.scan($0).isEmpty }) || joined.contains(where: { !SecretScanner.credentialShapes($0).isEmpty }) {
            return .failure(secretRefusal)
        }
        return .success(JSONScan.compacted(data))
    }

    static let secretRefusal = Refusal(
        .secret, "the data holds what looks like a secret (a credential, a key, a long random string, or the agent's own password or key)")

    /// A secret as it may be written: lower-cased (the text is lower-cased too), its lower-case hex,
    /// and its base64 and base64url (without padding), lower-cased.
    static func secretForms(_ secret: [UInt8]) -> [[UInt8]] {
        let lower = secret.map(lowercased)
        let hex = Array(Hex.encode(secret).utf8)
        let base64 = Array(Data(secret).base64EncodedString().utf8).prefix { $0 != UInt8(ascii: "=") }
        let url = base64.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: "-") : $0 == UInt8(ascii: "/") ? UInt8(ascii: "_") : $0 }
        return [lower, hex, Array(base64).map(lowercased), url.map(lowercased)]
    }

    /// Full-width ASCII (U+FF01-U+FF5E) as ASCII (`ｓｋ-` is `sk-` to a reader). The own-secret
    /// search lower-cases the result; the shape rules see it as it is (case matters: `AKIA`).
    static func foldedForScanning(_ bytes: [UInt8]) -> [UInt8] {
        guard let text = String(validating: bytes, as: UTF8.self) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for scalar in text.unicodeScalars {
            if (0xFF01...0xFF5E).contains(scalar.value) {
                out.append(UInt8(scalar.value - 0xFF01 + 0x21))
            } else {
                out.append(contentsOf: String(scalar).utf8)
            }
        }
        return out
    }

    static func lowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }

    /// Characters no event may carry: C0 controls but tab and newline, DEL, C1 controls, the
    /// bidirectional controls and the invisible format characters.
    static func isHazard(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09, 0x0A: false
        case 0x00...0x1F, 0x7F...0x9F: true
        case 0x00AD, 0x061C, 0x180E, 0x200B...0x200F, 0x202A...0x202E, 0x2060...0x2069, 0xFEFF: true
        default: false
        }
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
            } else if let problem = dataProblem(data) {
                problems.append(problem.message)
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
