import CCrypto
import FleetProtocol
import HatchlingSystem

/// A command signing key: the bytes of `FLEET_COMMAND_KEY` (or of the key file, without its
/// trailing newline). Never printed.
public struct CommandKey: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// Keys shorter than this are refused: an HMAC key should not be guessable.
    public static let minimumLength = 16

    public init?(_ secret: String) {
        let bytes = Array(secret.utf8)
        guard bytes.count >= Self.minimumLength else { return nil }
        self.bytes = bytes
    }

    /// A fingerprint to tell keys apart in a reload (`changed`), never the key.
    public var fingerprint: String {
        let mac = CommandSignature.hmac(key: Array("hatchling-agent key fingerprint".utf8), message: bytes)
        return "hmac:" + Hex.encode(mac.prefix(8))
    }

    public var description: String { "***" }
}

/// Signed commands (docs/protocol.md): `sig` is the lowercase hex HMAC-SHA256, under the hatchling's
/// key, of `v1\n<name>\n<id>\n<command>\n<ts>\n<expires_at or empty>`, with `ts` and
/// `expires_at` exactly as sent.
public enum CommandSignature {
    /// How far `ts` may be from the agent's clock, either way.
    public static let window = 300.0

    /// The signed text.
    public static func canonical(name: String, id: String, command: String, ts: String, expiresAt: String?) -> [UInt8] {
        Array("v1\n\(name)\n\(id)\n\(command)\n\(ts)\n\(expiresAt ?? "")".utf8)
    }

    /// The signature of a command, for the hub.
    public static func sign(key: CommandKey, name: String, id: String, command: String, ts: String, expiresAt: String?) -> String {
        Hex.encode(hmac(key: key.bytes, message: canonical(name: name, id: id, command: command, ts: ts, expiresAt: expiresAt)))
    }

    /// Why a request is not accepted as signed, in words for the error response.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case notJSON
        case missing(String)
        case stale
        case badSignature

        public var description: String {
            switch self {
            case .notJSON: "this hatchling runs only signed JSON commands"
            case .missing(let field): "a signed command needs \"\(field)\""
            case .stale: "\"ts\" is more than \(Int(CommandSignature.window)) seconds from the hatchling's clock"
            case .badSignature: "the signature does not match"
            }
        }
    }

    /// Checks a parsed request against the key and the clock.
    public static func verify(_ request: CommandRequest, name: String, key: CommandKey, now: FleetTimestamp) -> Failure? {
        guard request.form == .json else { return .notJSON }
        guard let id = request.id else { return .missing("id") }
        guard let tsText = request.sentAtText, let ts = request.sentAt else { return .missing("ts") }
        guard let signature = request.signature else { return .missing("sig") }
        guard abs(now.seconds(since: ts)) <= window else { return .stale }
        let expected = hmac(
            key: key.bytes,
            message: canonical(name: name, id: id, command: request.command.rawValue, ts: tsText, expiresAt: request.expiresAtText))
        guard let given = unhex(signature), given.count == expected.count else { return .badSignature }
        let same = given.withUnsafeBytes { a in expected.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) } }
        return same == 0 ? nil : .badSignature
    }

    /// HMAC-SHA256 through libcrypto's one-shot `HMAC`.
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                HMAC(EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &out, &length)
            }
        }
        // HMAC fails only when libcrypto cannot allocate: nothing sensible to do but stop.
        precondition(result != nil, "HMAC-SHA256 failed in libcrypto")
        return Array(out.prefix(Int(length)))
    }

    /// Lowercase hex only (docs/protocol.md, Signed commands), 2 digits a byte: an upper-case
    /// digit is refused (`Hex.decode` takes either case).
    static func unhex(_ text: String) -> [UInt8]? {
        guard !text.utf8.contains(where: { (UInt8(ascii: "A")...UInt8(ascii: "F")).contains($0) }) else { return nil }
        return Hex.decode(text)
    }
}
