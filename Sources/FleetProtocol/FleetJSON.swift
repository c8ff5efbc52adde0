import FoundationEssentials

/// The one configured JSON encoder and decoder for every payload on the bus.
///
/// Keys are snake_case on the wire (`boot_id`, `duration_ms`) and sorted, so a payload's bytes
/// are a pure function of its value: golden files compare byte for byte.
public enum FleetJSON {
    /// Encodes a payload as compact JSON bytes, through `JSONEncoder`.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try makeEncoder().encode(value))
    }

    /// Encodes a payload that writes itself (every payload the agent sends): the same bytes as
    /// `JSONEncoder`, at a tenth of the cost (`JSONWriter`). Cannot fail.
    public static func encode<T: Encodable & JSONWritable>(_ value: T) -> [UInt8] {
        var writer = JSONWriter()
        value.write(to: &writer)
        return writer.bytes
    }

    /// Encodes for people (`metrics`, `check-config`): indented, same keys. `keysAsWritten`: the
    /// value's coding keys are snake_case already (no conversion, which costs a conversion per key
    /// per object: a fifth of `fleetctl status --json` at 10,000 hatchlings).
    public static func encodePretty<T: Encodable>(_ value: T, keysAsWritten: Bool = false) throws -> String {
        let encoder = makeEncoder()
        if keysAsWritten { encoder.keyEncodingStrategy = .useDefaultKeys }
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes a payload.
    ///
    /// The keys are turned from snake_case into camelCase in one pass over the bytes
    /// (`camelCaseKeys`) before a decoder with default keys reads them: `JSONDecoder`'s own
    /// `.convertFromSnakeCase` converted every key of every object anew, a quarter of the time of
    /// `fleetctl status` at 10,000 hatchlings (20,000 payloads).
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        guard let converted = camelCaseKeys(bytes) else {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(type, from: Data(bytes))
        }
        return try JSONDecoder().decode(type, from: Data(converted))
    }

    /// `bytes` with each object key's `_x` made `X` and `_1` made `1` (`boot_id` → `bootId`,
    /// `net_rx_bytes` → `netRxBytes`), as `.convertFromSnakeCase` reads the fleet's keys: lower-case
    /// words and digits joined by single underscores. Nil when a key is anything else (an escape,
    /// an upper-case letter, an underscore leading, trailing or doubled): the caller then decodes
    /// with `.convertFromSnakeCase` itself. Unlike it, keys of a `[String: X]` dictionary are
    /// converted too, so payloads keep such keys free of underscores (the outcome codes of
    /// `status-report`'s counters use hyphens). Not a validator: what is not JSON stays not JSON,
    /// for the decoder to refuse.
    public static func camelCaseKeys(_ bytes: [UInt8]) -> [UInt8]? {
        // Without an underscore or an escape, no key changes (and no key hides an underscore).
        guard bytes.contains(where: { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "\\") }) else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "\"") else {
                out.append(byte)
                index += 1
                continue
            }
            // A string: find its end (escapes skipped), then whether a colon follows (a key).
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
                end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1
            }
            end = min(end, bytes.count - 1)
            var next = end + 1
            while next < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[next]) { next += 1 }
            let isKey = next < bytes.count && bytes[next] == UInt8(ascii: ":")
            if isKey, end > index + 1 {
                let body = bytes[(index + 1)..<end]
                guard
                    body.allSatisfy({
                        ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                            || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                    }),
                    body.first != UInt8(ascii: "_"), body.last != UInt8(ascii: "_"), !SecretScanner.contains(body, [0x5F, 0x5F])
                else { return nil }
                out.append(UInt8(ascii: "\""))
                var position = body.startIndex
                while position < body.endIndex {
                    let character = body[position]
                    let following = position + 1 < body.endIndex ? body[position + 1] : 0
                    let isLower = following >= UInt8(ascii: "a") && following <= UInt8(ascii: "z")
                    let isDigit = following >= UInt8(ascii: "0") && following <= UInt8(ascii: "9")
                    if character == UInt8(ascii: "_"), position > body.startIndex, body[position - 1] != UInt8(ascii: "_"), isLower || isDigit {
                        out.append(isLower ? following - 0x20 : following)
                        position += 2
                    } else {
                        out.append(character)
                        position += 1
                    }
                }
                out.append(UInt8(ascii: "\""))
            } else {
                out.append(contentsOf: bytes[index...end])
            }
            index = end + 1
        }
        return out
    }

    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
