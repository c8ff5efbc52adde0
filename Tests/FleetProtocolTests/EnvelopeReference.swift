import Foundation

@testable import FleetProtocol

// The reference `EnvelopeScanner` is tested against: what `JSONDecoder` reads of a command's
// fields. Test-only, so it is not in FleetProtocol; the fuzzer has the same reference
// (Fuzz/CommandFuzz/EnvelopeReference.swift).

/// A command's fields as `JSONDecoder` reads them: a field that is not a string is `.other`.
struct DecodedEnvelope: Decodable {
    struct FieldKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var envelope = CommandParser.Envelope()

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: FieldKey.self)
        for key in CommandParser.Envelope.Key.allCases {
            let field = FieldKey(stringValue: key.rawValue)
            guard container.contains(field) else { continue }
            envelope[key] = (try? container.decode(String.self, forKey: field)).map(CommandParser.Envelope.Field.string) ?? .other
        }
    }
}

extension CommandParser.Envelope {
    /// What `JSONDecoder` makes of the payload: nil when it refuses it.
    static func decodeWithFoundation(_ payload: [UInt8]) -> CommandParser.Envelope? {
        (try? JSONDecoder().decode(DecodedEnvelope.self, from: Data(payload)))?.envelope
    }
}

extension CommandParser {
    /// Nil when `EnvelopeScanner` refuses the payload, or reads it exactly as `JSONDecoder` does;
    /// otherwise what each of them read. Only payloads that `parse` hands to the scanner are
    /// compared (valid UTF-8, `{` first after whitespace).
    static func scannerDisagreement(_ payload: [UInt8]) -> String? {
        guard String(validating: payload, as: UTF8.self) != nil,
            payload.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) == UInt8(ascii: "{"),
            let scanned = EnvelopeScanner.scan(payload)
        else { return nil }
        let decoded = Envelope.decodeWithFoundation(payload)
        guard scanned != decoded else { return nil }
        return "EnvelopeScanner: \(scanned); JSONDecoder: \(decoded.map { "\($0)" } ?? "not JSON")"
    }
}
