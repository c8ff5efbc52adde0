import FleetProtocol
import FoundationEssentials

// The reference the command scanner is fuzzed against: what `JSONDecoder` reads of a command's
// fields. Not in FleetProtocol, which ships; `EnvelopeScannerTests` have the same reference
// (Tests/FleetProtocolTests/EnvelopeReference.swift). Keep the two alike.

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

/// Nil when `EnvelopeScanner` refuses the payload, or reads it exactly as `JSONDecoder` does;
/// otherwise what each of them read. Only payloads that `CommandParser.parse` hands to the scanner
/// are compared (valid UTF-8, `{` first after whitespace).
func scannerDisagreement(_ payload: [UInt8]) -> String? {
    guard String(validating: payload, as: UTF8.self) != nil,
        payload.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) == UInt8(ascii: "{"),
        let scanned = EnvelopeScanner.scan(payload)
    else { return nil }
    let decoded = (try? JSONDecoder().decode(DecodedEnvelope.self, from: Data(payload)))?.envelope
    guard scanned != decoded else { return nil }
    return "EnvelopeScanner: \(scanned); JSONDecoder: \(decoded.map { "\($0)" } ?? "not JSON")"
}
