import FoundationEssentials

/// A command as received, validated: one of the four words, with its optional id and times.
public struct CommandRequest: Sendable, Equatable {
    /// How the command arrived; plain-text commands get responses without `id`.
    public enum Form: Sendable, Equatable {
        case plainText
        case json
    }

    public var command: FleetCommand
    public var id: String?
    public var form: Form
    /// When the hub sent it (`ts`), if it said.
    public var sentAt: FleetTimestamp?
    /// After this instant the command must not run (`expires_at`).
    public var expiresAt: FleetTimestamp?
    /// The hex HMAC-SHA256 signature (`sig`), for signed commands.
    public var signature: String?
    /// `ts` exactly as sent, since the signature covers the text, not the instant.
    public var sentAtText: String?
    /// `expires_at` exactly as sent.
    public var expiresAtText: String?

    public init(
        command: FleetCommand, id: String? = nil, form: Form = .json, sentAt: FleetTimestamp? = nil,
        expiresAt: FleetTimestamp? = nil, signature: String? = nil, sentAtText: String? = nil,
        expiresAtText: String? = nil
    ) {
        self.command = command
        self.id = id
        self.form = form
        self.sentAt = sentAt
        self.expiresAt = expiresAt
        self.signature = signature
        self.sentAtText = sentAtText
        self.expiresAtText = expiresAtText
    }
}

/// Why a payload is not a command; carries what could be read safely for the error response.
public struct CommandRejection: Error, Sendable, Equatable {
    public var code: FleetErrorCode
    public var message: String
    /// The request's id, when it could be read and is valid.
    public var id: String?
    /// The command word, when it is short and harmless enough to echo.
    public var commandWord: String?

    public init(code: FleetErrorCode, message: String, id: String? = nil, commandWord: String? = nil) {
        self.code = code
        self.message = message
        self.id = id
        self.commandWord = commandWord
    }
}

/// Turns raw payload bytes into a `CommandRequest`, or says why not. Pure; never throws past itself.
public enum CommandParser {
    /// Payloads above this size are refused unread.
    public static let maximumPayloadBytes = 4096

    /// Parses plain text (`health-check`) or a JSON object (`{"command": "health-check", ...}`).
    public static func parse(_ payload: [UInt8]) -> Result<CommandRequest, CommandRejection> {
        guard payload.count <= maximumPayloadBytes else {
            return .failure(
                CommandRejection(
                    code: .tooLarge,
                    message: "command payload is \(payload.count) bytes; the limit is \(maximumPayloadBytes)"))
        }
        // ASCII (every command the hub sends) is valid UTF-8 without building a String to find out.
        guard payload.allSatisfy({ $0 < 0x80 }) || String(validating: payload, as: UTF8.self) != nil else {
            return .failure(CommandRejection(code: .malformed, message: "command payload is not valid UTF-8"))
        }
        let firstByte = payload.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
        if firstByte == UInt8(ascii: "{") { return parseJSON(payload) }
        return parsePlainText(String(decoding: payload, as: UTF8.self).trimmingWhitespace())
    }

    static func parsePlainText(_ word: Substring) -> Result<CommandRequest, CommandRejection> {
        if word.isEmpty {
            return .failure(CommandRejection(code: .malformed, message: "command payload is empty"))
        }
        if let command = FleetCommand(rawValue: String(word)) {
            return .success(CommandRequest(command: command, form: .plainText))
        }
        guard let echo = echoableWord(String(word)) else {
            return .failure(
                CommandRejection(
                    code: .malformed,
                    message: "command payload is neither a command word nor a JSON object"))
        }
        return .failure(
            CommandRejection(code: .unknownCommand, message: unknownMessage(echo), commandWord: echo))
    }

    static func parseJSON(_ payload: [UInt8]) -> Result<CommandRequest, CommandRejection> {
        guard let envelope = EnvelopeScanner.scan(payload) else {
            return .failure(CommandRejection(code: .malformed, message: "command payload is not a valid JSON object"))
        }
        var id: String? = nil
        switch envelope.id {
        case .absent: break
        case .string(let value) where isValidID(value): id = value
        case .string, .other:
            return .failure(
                CommandRejection(code: .malformed, message: "\"id\" must be a string of 1 to 64 printable ASCII characters"))
        }
        guard case .string(let word) = envelope.command else {
            return .failure(
                CommandRejection(code: .malformed, message: "\"command\" is required and must be a string", id: id))
        }
        guard let command = FleetCommand(rawValue: word) else {
            let echo = echoableWord(word)
            return .failure(
                CommandRejection(code: .unknownCommand, message: unknownMessage(echo), id: id, commandWord: echo))
        }
        var request = CommandRequest(command: command, id: id, form: .json)
        /// The time in a `ts` or `expires_at` field: nil when absent, a rejection when not RFC 3339.
        func time(_ key: StaticString, _ field: Envelope.Field) -> Result<(FleetTimestamp, String)?, CommandRejection> {
            if case .absent = field { return .success(nil) }
            guard case .string(let text) = field, let time = FleetTimestamp(rfc3339: text) else {
                return .failure(
                    CommandRejection(
                        code: .malformed, message: "\"\(key)\" must be an RFC 3339 time such as 2026-11-29T05:00:00Z",
                        id: id, commandWord: word))
            }
            return .success((time, text))
        }
        switch time("ts", envelope.ts) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let sent): if let sent { (request.sentAt, request.sentAtText) = sent }
        }
        switch time("expires_at", envelope.expiresAt) {
        case .failure(let rejection): return .failure(rejection)
        case .success(let expires): if let expires { (request.expiresAt, request.expiresAtText) = expires }
        }
        switch envelope.sig {
        case .absent: break
        case .string(let sig): request.signature = sig
        case .other:
            return .failure(CommandRejection(code: .malformed, message: "\"sig\" must be a string", id: id, commandWord: word))
        }
        return .success(request)
    }

    /// 1 to 64 printable ASCII characters.
    public static func isValidID(_ id: String) -> Bool {
        let bytes = id.utf8
        return !bytes.isEmpty && bytes.count <= 64 && bytes.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }
    }

    /// A word safe to echo back: 1 to 64 of `A-Z a-z 0-9 . _ -`; anything else is not repeated.
    static func echoableWord(_ word: String) -> String? {
        let bytes = word.utf8
        guard !bytes.isEmpty, bytes.count <= 64 else { return nil }
        let ok = bytes.allSatisfy {
            HatchlingName.isAllowed($0) || $0 == UInt8(ascii: ".")
        }
        return ok ? word : nil
    }

    static func unknownMessage(_ echo: String?) -> String {
        let known = FleetCommand.allCases.map(\.rawValue).joined(separator: ", ")
        return "\(echo.map { "'\($0)' is not a command" } ?? "not a command"); commands are: \(known)"
    }

    /// The fields we read; unknown keys are ignored, and a field of the wrong type is remembered as such.
    /// `EnvelopeScanner` fills it. `package`, not internal: the fuzzer (`Fuzz/CommandFuzz`) holds the
    /// scanner's reading against `JSONDecoder`'s, as `EnvelopeScannerTests` do; that reference
    /// decoder lives with them, not here.
    package struct Envelope: Equatable {
        package enum Field: Equatable {
            case absent
            case string(String)
            case other
        }

        /// The keys of the fields, as spelled on the wire.
        package enum Key: String, CaseIterable {
            case command, id, ts, sig
            case expiresAt = "expires_at"
        }

        package var command = Field.absent
        package var id = Field.absent
        package var ts = Field.absent
        package var expiresAt = Field.absent
        package var sig = Field.absent

        package init() {}

        package subscript(key: Key) -> Field {
            get {
                switch key {
                case .command: command
                case .id: id
                case .ts: ts
                case .expiresAt: expiresAt
                case .sig: sig
                }
            }
            set {
                switch key {
                case .command: command = newValue
                case .id: id = newValue
                case .ts: ts = newValue
                case .expiresAt: expiresAt = newValue
                case .sig: sig = newValue
                }
            }
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, CRs and LFs: plain-text commands here, and the
    /// agent's config file parser (`ConfigFile`). Not public API (`package`): a text helper, not
    /// part of the wire protocol.
    package func trimmingWhitespace() -> SubSequence {
        // Whole Characters: "\r\n" is one Character, so compare by its scalars.
        let isSpace: (Character) -> Bool = { $0.unicodeScalars.allSatisfy { [" ", "\t", "\n", "\r"].contains($0) } }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[start...end]
    }
}
