import Testing

@testable import FleetProtocol

/// The command scanner against `JSONDecoder`. Whatever the scanner accepts, the decoder must read
/// with the same fields (`scripts/fuzz.sh` checks this on every input too); valid JSON of any shape
/// must be accepted; and the invalid forms the decoder lets through are refused.
@Suite("EnvelopeScanner")
struct EnvelopeScannerTests {
    static let valid: [String] = [
        #"{}"#, #"{"command":"health-check"}"#, #" {"command" : "status-report" , "id" : "c-1"} "#,
        "\t\r\n{\"command\":\"version-report\"}\n",
        #"{"command":"config-reload","id":"a","ts":"2026-11-29T05:00:00Z","expires_at":"2026-11-29T05:01:00Z","sig":"abc"}"#,
        #"{"command":1}"#, #"{"command":null}"#, #"{"command":true}"#, #"{"command":["health-check"]}"#,
        #"{"command":{"x":1}}"#, #"{"id":12.5e-3,"command":"health-check"}"#, #"{"command":"health-check","extra":[1,2,{"a":[]}]}"#,
        #"{"comm\u0061nd":"health-check"}"#, #"{"command":"health\u002dcheck"}"#, #"{"command":"\ud83d\ude00"}"#,
        #"{"command":"\u00e9\u4e2d\u0000"}"#, #"{"command":"a\/b\\c\"d\b\f\n\r\t"}"#, "{\"command\":\"del\u{7F}\"}",
        #"{"command":"é日本🐣"}"#, #"{"x":"a","x":"b","command":"health-check"}"#,
        #"{"n":0}"#, #"{"n":-0}"#, #"{"n":1E5}"#, #"{"n":-1.5e-7}"#, #"{"n":123456789012345678901234567890}"#, #"{"n":1e400}"#,
        #"{"b":false,"c":true,"d":null}"#, #"{"a":1} "#, "{\"a\":1}\n\n", #"{"a":[[[[[[[[[[1]]]]]]]]]]}"#,
        #"{"":"empty key"}"#, #"{"command":""}"#, #"{"ts":"not a time","command":"health-check"}"#,
    ]

    /// Not JSON (RFC 8259), or a command field twice. The comment says what `JSONDecoder` does.
    static let invalid: [String] = [
        #"{"command":"a","command":"b"}"#, #"{"id":"x","id":5}"#,  // decoder: the first one counts
        #"{"command":"\ud83d"}"#, #"{"command":"\ude00"}"#, #"{"command":"\ud83d\u0041"}"#,  // decoder: field unreadable
        #"{"command":"\x"}"#, #"{"command":"\u12g4"}"#, "{\"command\":\"tab\there\"}", "{\"command\":\"nul\u{0}\"}",
        #"{"n":01}"#, #"{"n":-}"#, #"{"n":1.}"#, #"{"n":1e}"#, #"{"n":1e+}"#, #"{"n":1.5.5}"#,  // decoder: accepted, never read
        #"{"a":1,}"#, #"{"a":[1,]}"#,  // decoder: accepted
        #"{"command":"\u12"}"#, #"{"n":.5}"#, #"{"n":+1}"#, #"{"n":0x10}"#, #"{"n":NaN}"#, #"{"n":Infinity}"#,
        #"{"b":tru}"#, #"{"b":truex}"#, #"{"b":nul}"#, #"{"b":True}"#,
        #"{,"a":1}"#, #"{"a" 1}"#, #"{"a":}"#, #"{a:1}"#, #"{'a':1}"#, #"{"a":1"#, #"{"a":"#, #"{"#,
        #"{"a":[,1]}"#, #"{"a":[1 2]}"#, #"{"a":[}"#, #"{"a":{]}"#, #"{"a":1}}"#, #"{"a":1} x"#,
        #"{"a":1}{"b":2}"#, "{\"a\":1}\u{0}", #"{"a":"unterminated}"#, #"{"a":"x\"#, "{\"a\":1}\u{A0}",
        #"{"command":"health-check"/*c*/}"#,
    ]

    @Test("valid payloads are accepted, with the decoder's fields")
    func validPayloads() {
        for payload in Self.valid {
            #expect(EnvelopeScanner.scan(Array(payload.utf8)) != nil, "refused: \(payload)")
            #expect(CommandParser.scannerDisagreement(Array(payload.utf8)) == nil, "\(payload)")
        }
    }

    @Test("invalid payloads are refused")
    func invalidPayloads() {
        for payload in Self.invalid {
            #expect(EnvelopeScanner.scan(Array(payload.utf8)) == nil, "accepted: \(payload)")
        }
    }

    @Test("nesting: at the decoder's limit and one past it")
    func nesting() {
        for depth in [510, 511, 512, 513, 600] {
            let arrays = "{\"a\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
            let objects = String(repeating: "{\"a\":", count: depth) + "1" + String(repeating: "}", count: depth)
            for payload in [arrays, objects] {
                let bytes = Array(payload.utf8)
                #expect(CommandParser.scannerDisagreement(bytes) == nil, "nested \(depth) deep")
                // Both refuse past 512 levels (objects count from the outer one, arrays from inside it).
                #expect((EnvelopeScanner.scan(bytes) != nil) == (CommandParser.Envelope.decodeWithFoundation(bytes) != nil), "nested \(depth) deep")
            }
        }
    }

    @Test("every prefix of a full command, and every single-byte change of it")
    func mutations() {
        let full = Array(#"{"command":"config-reload","id":"c-9","ts":"2026-11-29T05:00:00Z","x":[1,-2.5e3,true,null,{"y":"\u00e9"}]}"#.utf8)
        var accepted = 0
        for end in 0...full.count {
            #expect(CommandParser.scannerDisagreement(Array(full[..<end])) == nil, "prefix of \(end) bytes")
        }
        let replacements: [UInt8] = Array(#"{}[]",:\ u0aeE+-.tfn"#.utf8) + [0x00, 0x09, 0x0A, 0x1F, 0x7F]
        for position in full.indices {
            for byte in replacements {
                var changed = full
                changed[position] = byte
                if EnvelopeScanner.scan(changed) != nil { accepted += 1 }
                #expect(CommandParser.scannerDisagreement(changed) == nil, "\(String(decoding: changed, as: UTF8.self))")
            }
        }
        #expect(accepted > 100, "only \(accepted) changed payloads were valid: the comparison saw too few")
    }

    /// Random valid JSON, built from the grammar: every value kind, escapes, number forms, whitespace.
    struct Generator {
        var rng = JSONWriterTests.Seeded(state: 8259)

        mutating func pick<T>(_ choices: [T]) -> T { choices.randomElement(using: &rng)! }
        mutating func space() -> String { pick(["", "", " ", "\n", "\t", "\r\n  "]) }

        mutating func string() -> String {
            var text = "\""
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                text += pick([
                    "a", "Z", "-", " ", "é", "🐣", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u0041", "\\u00e9",
                    "\\ud83d\\ude00", "\\u0000", "\\u001F", "\u{7F}",
                ])
            }
            return text + "\""
        }

        mutating func number() -> String {
            let integer = pick(["0", "7", "42", "-0", "-3", "123456789012345678901234567890"])
            let fraction = pick(["", "", ".5", ".000", ".25"])
            let exponent = pick(["", "", "e5", "E-3", "e+10", "E0"])
            return integer + fraction + exponent
        }

        mutating func value(depth: Int) -> String {
            let kinds = depth > 4 ? 5 : 7
            switch Int.random(in: 0..<kinds, using: &rng) {
            case 0: return string()
            case 1: return number()
            case 2: return pick(["true", "false"])
            case 3: return "null"
            case 4: return string()
            case 5: return array(depth: depth + 1)
            default: return object(depth: depth + 1, keys: ["a", "b", "c", "ts", "d\\u0065ep"])
            }
        }

        mutating func array(depth: Int) -> String {
            let items = (0..<Int.random(in: 0...3, using: &rng)).map { _ in space() + value(depth: depth) + space() }
            return "[" + (items.isEmpty ? space() : items.joined(separator: ",")) + "]"
        }

        mutating func object(depth: Int, keys: [String]) -> String {
            var members: [String] = []
            for key in keys.shuffled(using: &rng).prefix(Int.random(in: 0...keys.count, using: &rng)) {
                members.append(space() + "\"\(key)\"" + space() + ":" + space() + value(depth: depth) + space())
            }
            return "{" + (members.isEmpty ? space() : members.joined(separator: ",")) + "}"
        }

        /// A top-level object with some of the command fields (each at most once) and other keys.
        mutating func command() -> String {
            space() + object(depth: 1, keys: ["command", "id", "ts", "expires_at", "sig", "x", "extra", "c\\u006fmmand2"]) + space()
        }
    }

    @Test("3,000 generated valid commands: all accepted, all read as the decoder reads them")
    func generated() {
        var generator = Generator()
        for _ in 0..<3000 {
            let payload = generator.command()
            let bytes = Array(payload.utf8)
            #expect(EnvelopeScanner.scan(bytes) != nil, "refused valid JSON: \(payload)")
            #expect(CommandParser.scannerDisagreement(bytes) == nil, "\(payload)")
        }
    }

    @Test("the scanner reads the fields a command uses")
    func fields() throws {
        let envelope = try #require(
            EnvelopeScanner.scan(Array(#"{"sig":"s","command":"health-check","id":7,"other":"x","expires_at":"e"}"#.utf8)))
        #expect(envelope.command == .string("health-check"))
        #expect(envelope.id == .other)
        #expect(envelope.ts == .absent)
        #expect(envelope.expiresAt == .string("e"))
        #expect(envelope.sig == .string("s"))
    }
}
