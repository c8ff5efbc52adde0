import FleetProtocol
import Testing

@Suite("Event payloads: name and data checks, parse, problems, writer")
struct EventPayloadTests {
    static let bootId = "0123456789abcdef0123456789abcdef"
    static let ts = FleetTimestamp(rfc3339: "2026-12-03T09:00:00Z")!

    /// `{"k":"xx…x"}` of exactly `size` bytes.
    static func object(bytes size: Int) -> [UInt8] {
        Array(#"{"k":""#.utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: size - 8) + Array(#""}"#.utf8)
    }

    static func written(_ event: EventPayload) -> [UInt8] {
        var writer = JSONWriter()
        event.write(to: &writer)
        return writer.bytes
    }

    /// An event as the agent writes it, with `field` replaced by `value` (raw JSON), or removed when nil.
    static func payload(_ field: String? = nil, _ value: String? = nil) -> [UInt8] {
        var fields = [
            ("boot_id", "\"\(bootId)\""), ("data", #"{"k":"v"}"#), ("event", "\"task-done\""), ("seq", "7"),
            ("ts", "\"2026-12-03T09:00:00.000Z\""), ("v", "1"),
        ]
        if let field {
            fields.removeAll { $0.0 == field }
            if let value { fields.append((field, value)) }
        }
        return Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    func data(_ text: String, name: String = "x", secrets: [String] = []) -> EventPayload.Refusal? {
        if case .failure(let refusal) = EventPayload.prepareData(Array(text.utf8)[...], name: name, secrets: secrets.map { Array($0.utf8) }) {
            return refusal
        }
        return nil
    }

    @Test("names of 1 and 64 bytes of a-z 0-9 - pass", arguments: ["a", "task-done", "0", "x-1-y", String(repeating: "a", count: 64)])
    func goodNames(_ name: String) {
        #expect(EventPayload.checkName(name) == nil)
    }

    @Test(
        "an empty name, 65 bytes, or a byte outside a-z 0-9 - is bad-name",
        arguments: [
            "", String(repeating: "a", count: 65), "Task", "task_done", "task done", "a/b", "a+b", "a#b", "tâche", "a\u{0}", "a\u{1B}[2J",
            "a\u{202E}b", "a.b",
        ])
    func badNames(_ name: String) {
        #expect(EventPayload.checkName(name)?.code == .badName)
    }

    @Test("data of 2048 bytes passes; 2049 is too-large, before anything else is read")
    func dataSize() {
        #expect(EventPayload.dataProblem(Self.object(bytes: 2048)[...]) == nil)
        let refusal = EventPayload.dataProblem(Self.object(bytes: 2049)[...])
        #expect(refusal?.code == .tooLarge && refusal?.message.contains("2049") == true)
    }

    @Test(
        "data that is not one JSON object is bad-data",
        arguments: [
            "[1]", #""text""#, "1", "null", "", "{", #"{"a":1,}"#, #"{"a":01}"#, #"{"a":1}x"#, #"{"a":1}{"b":2}"#, "{'a':1}", #"{"a":"\x"}"#,
        ])
    func notAnObject(_ text: String) {
        #expect(data(text)?.code == .badData, "\(text)")
    }

    @Test("nesting: 32 levels pass, 33 are bad-data")
    func nesting() {
        // The object is the first level; each array one more.
        func nested(_ levels: Int) -> String {
            #"{"a":"# + String(repeating: "[", count: levels - 1) + String(repeating: "]", count: levels - 1) + "}"
        }
        #expect(data(nested(32)) == nil)
        #expect(data(nested(33))?.code == .badData)
    }

    @Test(
        "credential shapes are refused as secret, by kind, never quoted; hidden behind JSON escapes too",
        arguments: [
            "sk-proj-abcdefghijklmnopqrstuvwxyz", "sk-ant-api03-SECRETSECRETSECRET000111", "xoxb-1234567890-abcdefghij",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "AKIAIOSFODNN7EXAMPLE", "-----BEGIN RSA PRIVATE KEY-----\\nMIIEow==",
            "-----BEGIN PRIVATE KEY-----", #"\u0073k-proj-abcdefghijklmnopqrstuvwxyz"#, #"\u0078oxb-1234567890-abcdefghij"#,
            #"ghp\u005fabcdefghijklmnopqrstuvwxyz0123456789"#, #"\u0041KIAIOSFODNN7EXAMPLE"#, #"\u002d----BEGIN PRIVATE KEY-----"#,
            #"-----BEGIN PRIVATE\u0020KEY-----"#,
        ])
    func credentialShapes(_ secret: String) {
        let refusal = data(#"{"note":"\#(secret)"}"#)
        #expect(refusal?.code == .secret, "\(secret)")
        #expect(refusal.map { !$0.message.contains("abcdefghij") && !$0.message.contains("EXAMPLE") } == true)
    }

    @Test("a key of the data is scanned like a value")
    func secretKey() {
        #expect(data(#"{"sk-proj-abcdefghijklmnopqrstuvwxyz":1}"#)?.code == .secret)
    }

    @Test("the agent's own credentials (secrets:) are refused as given, escaped, or as a key; an empty one is ignored")
    func ownCredentials() {
        let password = ["hunter2-Pa55word"]
        #expect(data(#"{"x":"my hunter2-Pa55word"}"#, secrets: password)?.code == .secret)
        #expect(data(#"{"x":"hunter2\u002dPa55word"}"#, secrets: password)?.code == .secret)
        #expect(data(#"{"hunter2-Pa55word":true}"#, secrets: password)?.code == .secret)
        #expect(data(#"{"x":"hunter2-Pa55word"}"#, secrets: [""]) == nil)
        let refusal = data(#"{"x":"hunter2-Pa55word"}"#, secrets: ["other", "hunter2-Pa55word"])
        #expect(refusal?.message.contains("hunter2") == false)
    }

    @Test(
        "ordinary data passes: the fleet's own hex ids, short prefixes, non-ASCII text",
        arguments: [
            #"{"k":"v"}"#, "{}", #"{"boot":"0123456789abcdef0123456789abcdef","n":1.5,"ok":true,"none":null}"#, #"{"note":"sk-short"}"#,
            #"{"sha":"3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"}"#, #"{"city":"Zürich","list":[1,[2,{"a":[]}]]}"#,
            #"{"id":"c-1","tab":"a\tb","line":"a\nb"}"#,
        ])
    func ordinaryData(_ text: String) {
        #expect(data(text) == nil, "\(text)")
    }

    @Test(
        "what the hub could not show safely is bad-data: a key twice at any depth, invalid UTF-8, control, bidirectional and invisible characters, raw or escaped"
    )
    func unsafeData() {
        for text in [
            #"{"status":"ok","status":"failed"}"#, #"{"a":{"b":1,"b":2}}"#, #"{"a":[{"c":1,"c":1}]}"#, #"{"a":"\u001b[2J"}"#,
            #"{"a":"\u009b31m"}"#, "{\"a\":\"\u{9B}31m\"}", #"{"a":"x\u202ey"}"#, "{\"a\":\"x\u{202E}y\"}", #"{"a":"x\u200by"}"#,
            "{\"a\":\"\u{7F}\"}", #"{"a\u0000":1}"#, #"{"a":"\ufeff"}"#, "{\"a\":\"\r\"}",
        ] {
            #expect(data(text)?.code == .badData, "\(text)")
        }
        #expect(EventPayload.dataProblem(Array(#"{"a":""#.utf8)[...] + [0xFF, 0xFE] + Array(#""}"#.utf8))?.message == "the data is not UTF-8")
    }

    @Test("the data is published compacted: no white space between tokens, strings as they were")
    func compacted() throws {
        let prepared = EventPayload.prepareData(Array("{ \"a b\" :\r\n [ 1 ,\t2 ] , \"c\" : \" x \\\" y \" }".utf8)[...])
        #expect(try prepared.get() == Array(#"{"a b":[1,2],"c":" x \" y "}"#.utf8))
    }

    @Test(
        "long random-looking strings are refused as secrets, as fleetctl audit would flag them (an AWS secret key, a random token)",
        arguments: [
            "Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWo", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "Zq3xK9pL2mN7vB4cR8tY1wE6uI5oA0sD",
        ])
    func randomStrings(_ token: String) {
        #expect(data(#"{"v":"\#(token)"}"#)?.code == .secret, "\(token)")
    }

    @Test(
        "own credentials in any letter case, as hex or base64, split over two strings, or in the name; credential shapes split or in full-width letters; one message for every kind"
    )
    func evasions() {
        let password = ["Hunter2Secret"]
        let hex = "48756e7465723253656372657"  // the first 25 hex digits: not the whole secret
        #expect(data(#"{"x":"\#(hex)"}"#, secrets: password) == nil)
        for text in [
            #"{"x":"hunter2secret"}"#, #"{"x":"HUNTER2SECRET"}"#, #"{"x":"48756e746572325365637265740a"}"#,
            #"{"x":"SHVudGVyMlNlY3JldA=="}"#, #"{"a":"Hunter2","b":"Secret"}"#, #"{"Hunter2":"Secret"}"#,
        ] {
            #expect(data(text, secrets: password)?.code == .secret, "\(text)")
        }
        #expect(data("{}", name: "hunter2secret", secrets: password)?.code == .secret)
        #expect(data("{}", name: "48756e7465723253656372657", secrets: password) == nil)
        for text in [
            #"{"a":"sk-","b":"proj-abcdefghijklmnopqrstuvwx"}"#, #"{"a":"-----BEG","b":"IN RSA PRIVATE KEY-----"}"#,
            #"{"a":"ｓｋ-proj-abcdefghijklmnopqrstuvwx"}"#, #"{"a":"ＡＫＩＡIOSFODNN7EXAMPLE"}"#,
        ] {
            #expect(data(text)?.code == .secret, "\(text)")
        }
        #expect(data("{}", name: "sk-proj-abcdefghijklmnopqrstu")?.code == .secret)
        let messages = Set(
            [data(#"{"x":"hunter2secret"}"#, secrets: password), data(#"{"k":"sk-proj-abcdefghijklmnopqrstuvwx"}"#)].map { $0?.message })
        #expect(messages.count == 1, "a refusal must not tell one kind of secret from another: \(messages)")
    }

    @Test("the writer: exactly the contract's bytes, keys sorted")
    func writer() throws {
        let event = EventPayload(event: "task-done", data: Array(#"{"k":"v"}"#.utf8), ts: Self.ts, bootId: Self.bootId, seq: 7)
        #expect(
            String(decoding: Self.written(event), as: UTF8.self)
                == #"{"boot_id":"0123456789abcdef0123456789abcdef","data":{"k":"v"},"event":"task-done","seq":7,"ts":"2026-12-03T09:00:00.000Z","v":1}"#
        )
        #expect(Self.written(event) == Self.payload())
    }

    @Test(
        "round trip: what the writer writes parses back to the same value",
        arguments: [
            (#"{"k":"v"}"#, "task-done", UInt64(7)), ("{}", "a", 1),
            (#"{"deep":[[[{"x":null}]]],"n":-1.5e3,"t":"Zürich \u00e9 \"q\""}"#, "x", 1_000_000),
            (#"{ "spaced" : [ 1 , 2 ] }"#, String(repeating: "z", count: 64), 9_999_999_999_999_999_999),
        ])
    func roundTrip(_ data: String, _ name: String, _ seq: UInt64) throws {
        let event = EventPayload(event: name, data: Array(data.utf8), ts: Self.ts.adding(seconds: 0.123), bootId: Self.bootId, seq: seq)
        let bytes = Self.written(event)
        #expect(EventPayload.problems(bytes) == [])
        #expect(EventPayload.parse(bytes) == event)
        #expect(EventPayload.parse(bytes).map(Self.written) == bytes)
    }

    @Test("parse reads the fields; a time with an offset is the same instant")
    func parse() throws {
        let event = try #require(EventPayload.parse(Self.payload("ts", #""2026-12-03T10:00:00+01:00""#)))
        #expect(event.event == "task-done" && event.seq == 7 && event.bootId == Self.bootId && event.v == 1)
        #expect(event.ts == Self.ts && event.data == Array(#"{"k":"v"}"#.utf8))
    }

    @Test(
        "each breach of the contract is refused by parse and named by problems",
        arguments: [
            ("v", "2", "v must be 1"), ("v", nil, "v must be 1"), ("v", "\"1\"", "v must be 1"),
            ("event", nil, "event must be a string"), ("event", "7", "event must be a string"), ("event", "\"Task\"", "event name may hold only"),
            ("event", "\"\"", "event name is empty"), ("data", nil, "data is missing"), ("data", "[1]", "data must be an object"),
            ("data", "\"{}\"", "data must be an object"), ("data", "null", "data must be an object"),
            ("ts", "\"yesterday\"", "ts must be an RFC 3339 time"), ("ts", nil, "ts must be an RFC 3339 time"),
            ("boot_id", "\"0123456789ABCDEF0123456789ABCDEF\"", "boot_id must be"), ("boot_id", "\"abc\"", "boot_id must be"),
            ("seq", "0", "seq must be a whole number from 1"), ("seq", "-1", "seq must be"), ("seq", "1.5", "seq must be"),
            ("seq", "\"7\"", "seq must be"), ("seq", "1e3", "seq must be"), ("shell", "\"ls\"", #"unknown field "shell""#),
        ] as [(String, String?, String)])
    func breaches(_ field: String, _ value: String?, _ problem: String) {
        let payload = Self.payload(field, value)
        #expect(EventPayload.parse(payload) == nil)
        let problems = EventPayload.problems(payload)
        #expect(problems.contains { $0.contains(problem) }, "\(field)=\(value ?? "absent"): \(problems)")
    }

    @Test("data over 2048 bytes, a key given twice, or no JSON object at all")
    func wholePayload() {
        let large = Self.payload("data", String(decoding: Self.object(bytes: 2049), as: UTF8.self))
        #expect(EventPayload.parse(large) == nil && EventPayload.problems(large) == ["the data is 2049 bytes; at most 2048"])
        let twice = Array((String(decoding: Self.payload().dropLast(), as: UTF8.self) + #","seq":8}"#).utf8)
        #expect(EventPayload.parse(twice) == nil && EventPayload.problems(twice).count == 1)
        for junk in ["", "junk", "[]", #"{"v":1"#] {
            #expect(EventPayload.problems(Array(junk.utf8)) == ["not one JSON object (or a key given twice)"], "\(junk)")
        }
    }
}
