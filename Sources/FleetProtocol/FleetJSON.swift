import FoundationEssentials

/// The one configured JSON encoder and decoder for every payload on the bus.
///
/// Keys are snake_case on the wire (`boot_id`, `duration_ms`) and sorted, so a payload's bytes
/// are a pure function of its value: golden files compare byte for byte.
public enum FleetJSON {
    /// Encodes a payload as compact JSON bytes.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try encodeWithFoundation(value)
    }

    /// Encodes a payload that writes itself (every payload the agent sends): the same bytes as
    /// `JSONEncoder`, at a tenth of the cost (`JSONWriter`). Cannot fail.
    public static func encode<T: Encodable & JSONWritable>(_ value: T) -> [UInt8] {
        var writer = JSONWriter()
        value.write(to: &writer)
        return writer.bytes
    }

    /// Encodes through `JSONEncoder`, whatever the type: the reference the writers are tested against.
    public static func encodeWithFoundation<T: Encodable>(_ value: T) throws -> [UInt8] {
        Array(try makeEncoder().encode(value))
    }

    /// Encodes for people (`metrics`, `check-config`): indented, same keys.
    public static func encodePretty<T: Encodable>(_ value: T) throws -> String {
        let encoder = makeEncoder()
        encoder.outputFormatting.insert(.prettyPrinted)
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes a payload.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(bytes))
    }

    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
