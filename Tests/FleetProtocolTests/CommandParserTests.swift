import FleetProtocol
import Testing

@Suite("CommandParser")
struct CommandParserTests {
    func parse(_ text: String) -> Result<CommandRequest, CommandRejection> {
        CommandParser.parse(Array(text.utf8))
    }

    func rejection(_ text: String) throws -> CommandRejection {
        try rejection(bytes: Array(text.utf8))
    }

    func rejection(bytes: [UInt8]) throws -> CommandRejection {
        switch CommandParser.parse(bytes) {
        case .success(let request):
            Issue.record("expected a rejection, got \(request)")
            throw UnexpectedSuccess()
        case .failure(let rejection):
            return rejection
        }
    }

    @Test("plain text: each word, with surrounding white space", arguments: FleetCommand.allCases)
    func plainText(_ command: FleetCommand) throws {
        let request = try parse(" \t\(command.rawValue)\n ").get()
        #expect(request == CommandRequest(command: command, form: .plainText))
        #expect(request.id == nil)
        #expect(try parse("\r\(command.rawValue)\r").get() == request)
    }

    /// CR LF is white space too (docs/protocol.md: "spaces, tabs and newlines around it are allowed"); `mosquitto_pub -f`
    /// with a file saved on Windows sends it.
    @Test("plain text and JSON ending in CR LF are accepted")
    func crlf() throws {
        #expect(try parse("health-check\r\n").get() == CommandRequest(command: .healthCheck, form: .plainText))
        #expect(try parse("\r\n{\"command\": \"health-check\"}\r\n").get() == CommandRequest(command: .healthCheck, form: .json))
    }

    @Test("JSON with id, ts and expires_at")
    func fullJSON() throws {
        let request = try parse(
            #"{"command": "health-check", "id": "c-42", "ts": "2026-11-29T05:00:00Z", "expires_at": "2026-11-29T05:05:00Z"}"#
        ).get()
        #expect(request.command == .healthCheck)
        #expect(request.form == .json)
        #expect(request.id == "c-42")
        #expect(request.sentAt == FleetTimestamp(millisecondsSinceEpoch: 1_795_928_400_000))
        #expect(request.expiresAt == FleetTimestamp(millisecondsSinceEpoch: 1_795_928_700_000))
        #expect(request.sentAtText == "2026-11-29T05:00:00Z")
        #expect(request.expiresAtText == "2026-11-29T05:05:00Z")
        #expect(request.signature == nil)
    }

    @Test("JSON with only the command, surrounded by white space")
    func minimalJSON() throws {
        let request = try parse("\n  {\"command\":\"status-report\"}  \n").get()
        #expect(request == CommandRequest(command: .statusReport, form: .json))
    }

    @Test("unknown keys are ignored")
    func unknownKeys() throws {
        let request = try parse(
            #"{"command": "version-report", "id": "c-1", "extra": [1, 2], "nested": {"topic": "evil/#"}, "program": "/bin/sh"}"#
        ).get()
        #expect(request.command == .versionReport)
        #expect(request.id == "c-1")
    }

    @Test("sig is carried as the signature")
    func signature() throws {
        let request = try parse(#"{"command": "health-check", "id": "c-1", "sig": "abcdef"}"#).get()
        #expect(request.signature == "abcdef")
        #expect(try rejection(#"{"command": "health-check", "id": "c-1", "sig": 7}"#).code == .malformed)
    }

    @Test("an unknown command carries its id and echoes the word")
    func unknownCommandJSON() throws {
        let r = try rejection(#"{"command": "reboot", "id": "c-7"}"#)
        #expect(r.code == .unknownCommand)
        #expect(r.id == "c-7")
        #expect(r.commandWord == "reboot")
        #expect(r.message.contains("'reboot' is not a command"))
        #expect(r.message.contains("health-check"))
    }

    @Test("an unknown plain-text word is echoed, without id")
    func unknownCommandPlain() throws {
        let r = try rejection("reboot.now\n")
        #expect(r == CommandRejection(code: .unknownCommand, message: r.message, id: nil, commandWord: "reboot.now"))
    }

    @Test(
        "a word that is not safe to echo is not repeated",
        arguments: [
            "rm -rf /", String(repeating: "x", count: 100), "a\"b", "évian", "ok;reboot",
        ])
    func nonEchoable(_ word: String) throws {
        let json = try rejection(#"{"command": "\#(word.replacingQuote())", "id": "c-8"}"#)
        #expect(json.code == .unknownCommand)
        #expect(json.id == "c-8")
        #expect(json.commandWord == nil)
        #expect(!json.message.contains(word))
        let plain = try rejection(word)
        #expect(plain.commandWord == nil)
        #expect(plain.id == nil)
        #expect(!plain.message.contains(word))
    }

    @Test(
        "command missing or not a string is malformed and carries the id",
        arguments: [
            #"{"id": "c-9"}"#, #"{"id": "c-9", "command": 42}"#, #"{"id": "c-9", "command": null}"#,
            #"{"id": "c-9", "command": ["health-check"]}"#,
        ])
    func commandMissing(_ text: String) throws {
        let r = try rejection(text)
        #expect(r.code == .malformed)
        #expect(r.id == "c-9")
        #expect(r.message.contains("\"command\""))
    }

    @Test(
        "an id that is not 1 to 64 printable ASCII characters is malformed, and not carried",
        arguments: [
            #""id": 42"#, #""id": null"#, #""id": """#, "\"id\": \"\(String(repeating: "i", count: 65))\"",
            #""id": "c\u0001x""#, #""id": "tab\there""#, #""id": "é""#,
        ])
    func badID(_ idField: String) throws {
        let r = try rejection(#"{"command": "health-check", \#(idField)}"#)
        #expect(r.code == .malformed)
        #expect(r.id == nil)
        #expect(r.message.contains("\"id\""))
    }

    @Test("an id of exactly 64 printable characters is accepted")
    func longestID() throws {
        let id = String(repeating: "~", count: 64)
        #expect(try parse(#"{"command": "health-check", "id": "\#(id)"}"#).get().id == id)
        #expect(CommandParser.isValidID(" "))
        #expect(!CommandParser.isValidID(""))
    }

    @Test(
        "an invalid expires_at or ts is malformed, with id and word",
        arguments: [
            #""expires_at": "tomorrow""#, #""expires_at": 1795928400"#, #""expires_at": "2026-11-29T05:00:00""#,
            #""ts": "2026-13-01T00:00:00Z""#,
        ])
    func badTimes(_ field: String) throws {
        let r = try rejection(#"{"command": "health-check", "id": "c-10", \#(field)}"#)
        #expect(r.code == .malformed)
        #expect(r.id == "c-10")
        #expect(r.commandWord == "health-check")
    }

    /// A JSON command padded with a string field to exactly `size` bytes.
    static func padded(size: Int) -> [UInt8] {
        let head = #"{"command": "health-check", "id": "c-big", "pad": ""#
        let tail = #""}"#
        return Array((head + String(repeating: "x", count: size - head.utf8.count - tail.utf8.count) + tail).utf8)
    }

    @Test("4097 bytes are too large and not read at all (no id)")
    func tooLarge() throws {
        let payload = Self.padded(size: 4097)
        #expect(payload.count == 4097)
        let r = try rejection(bytes: payload)
        #expect(r.code == .tooLarge)
        #expect(r.id == nil)
        #expect(r.commandWord == nil)
        #expect(r.message.contains("4096"))
    }

    @Test("exactly 4096 bytes are parsed")
    func largestAccepted() throws {
        let payload = Self.padded(size: CommandParser.maximumPayloadBytes)
        #expect(payload.count == 4096)
        let request = try CommandParser.parse(payload).get()
        #expect(request.command == .healthCheck)
        #expect(request.id == "c-big")
    }

    @Test(
        "invalid UTF-8 is malformed",
        arguments: [
            [0xFF, 0xFE] as [UInt8], Array("health-check".utf8) + [0xC3], Array(#"{"command": "health-check", "id": ""#.utf8) + [0x80, 0x22, 0x7D],
        ])
    func invalidUTF8(_ bytes: [UInt8]) throws {
        let r = try rejection(bytes: bytes)
        #expect(r.code == .malformed)
        #expect(r.id == nil)
        #expect(r.message.contains("UTF-8"))
    }

    @Test("empty and blank payloads are malformed", arguments: ["", " ", "\n\t\r\n"])
    func empty(_ text: String) throws {
        let r = try rejection(text)
        #expect(r.code == .malformed)
        #expect(r.id == nil)
    }

    @Test(
        "a JSON array, a bare string or broken JSON is malformed",
        arguments: [
            #"["health-check"]"#, #""health-check""#, #"{"command": "health-check""#, "{not json}", "{}x",
        ])
    func notAnObject(_ text: String) throws {
        let r = try rejection(text)
        #expect(r.code == .malformed)
        #expect(r.commandWord == nil)
    }
}

struct UnexpectedSuccess: Error {}

extension String {
    /// Escapes double quotes for embedding in a JSON string literal.
    fileprivate func replacingQuote() -> String {
        split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\\\"")
    }
}
