/// A validated hatchling name: 1 to 64 of `A-Z a-z 0-9 _ -`, starting with a letter or digit.
///
/// The name becomes a topic segment and a broker username, so anything that could change a topic's
/// meaning (`/`, `+`, `#`), or a username's, is refused before it reaches the bus.
public struct HatchlingName: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The name as it appears in topics and payloads.
    public let rawValue: String

    /// Validates `value`; the error says which rule it broke.
    public init(validating value: String) throws(HatchlingNameError) {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count <= 64 else { throw .tooLong(bytes.count) }
        guard HatchlingName.isAlphanumeric(bytes[0]) else { throw .badFirstCharacter }
        if let bad = bytes.firstIndex(where: { !HatchlingName.isAllowed($0) }) {
            throw .badCharacter(offset: bad)
        }
        self.rawValue = value
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(validating: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func isAllowed(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

/// Why a string is not a valid hatchling name.
public enum HatchlingNameError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case tooLong(Int)
    case badFirstCharacter
    case badCharacter(offset: Int)

    public var description: String {
        switch self {
        case .empty: "must not be empty"
        case .tooLong(let count): "must be at most 64 characters (got \(count))"
        case .badFirstCharacter: "must start with a letter or a digit (A-Z, a-z, 0-9)"
        case .badCharacter(let offset):
            "may contain only A-Z, a-z, 0-9, '_' and '-' (bad character at byte \(offset + 1))"
        }
    }
}
