import FleetProtocol
import FleetSigning
import Foundation
import HatchlingSystem
import Testing

@Suite("HMAC-SHA256 command signatures")
struct CommandSignatureTests {
    let key = CommandKey("0123456789abcdef0123456789abcdef")!

    @Test("libcrypto's HMAC-SHA256 matches RFC 4231 test cases 1 and 2")
    func rfc4231() {
        let case1 = CommandSignature.hmac(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
        #expect(Hex.encode(case1) == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        let case2 = CommandSignature.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(case2) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("the signed text is exactly v1, name, id, command, ts, expires_at (or empty), one per line")
    func canonical() {
        let text = CommandSignature.canonical(name: "mason", id: "c-1", command: "health-check", ts: "2026-11-29T05:00:00Z", expiresAt: nil)
        #expect(String(decoding: text, as: UTF8.self) == "v1\nmason\nc-1\nhealth-check\n2026-11-29T05:00:00Z\n")
    }

    @Test("a signature agrees with Python's hmac module (an independent implementation)")
    func againstPython() throws {
        let signature = CommandSignature.sign(
            key: key, name: "mason", id: "c-1", command: "status-report", ts: "2026-11-29T05:00:00Z", expiresAt: "2026-11-29T05:05:00Z")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import hmac,hashlib;print(hmac.new(b'0123456789abcdef0123456789abcdef', b'v1\\nmason\\nc-1\\nstatus-report\\n2026-11-29T05:00:00Z\\n2026-11-29T05:05:00Z', hashlib.sha256).hexdigest())",
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == signature)
    }

    func request(_ json: String) throws -> CommandRequest {
        try CommandParser.parse(Array(json.utf8)).get()
    }

    @Test("verify: valid, unsigned, wrong, stale, missing id, plain text, uppercase hex")
    func verify() throws {
        let ts = "2026-11-29T05:00:00Z"
        let now = FleetTimestamp(rfc3339: "2026-11-29T05:01:00Z")!
        let sig = CommandSignature.sign(key: key, name: "mason", id: "c-1", command: "health-check", ts: ts, expiresAt: nil)
        let good = try request(#"{"command":"health-check","id":"c-1","ts":"\#(ts)","sig":"\#(sig)"}"#)
        #expect(CommandSignature.verify(good, name: "mason", key: key, now: now) == nil)
        #expect(CommandSignature.verify(good, name: "rook", key: key, now: now) == .badSignature, "signed for another hatchling")
        #expect(CommandSignature.verify(good, name: "mason", key: CommandKey("another-key-of-16-bytes")!, now: now) == .badSignature)
        let unsigned = try request(#"{"command":"health-check","id":"c-1","ts":"\#(ts)"}"#)
        #expect(CommandSignature.verify(unsigned, name: "mason", key: key, now: now) == .missing("sig"))
        let tampered = try request(#"{"command":"status-report","id":"c-1","ts":"\#(ts)","sig":"\#(sig)"}"#)
        #expect(CommandSignature.verify(tampered, name: "mason", key: key, now: now) == .badSignature)
        let stale = FleetTimestamp(rfc3339: "2026-11-29T05:05:01Z")!
        #expect(CommandSignature.verify(good, name: "mason", key: key, now: stale) == .stale)
        let early = FleetTimestamp(rfc3339: "2026-11-29T04:54:59Z")!
        #expect(CommandSignature.verify(good, name: "mason", key: key, now: early) == .stale, "a ts from the future counts too")
        let noID = try request(#"{"command":"health-check","ts":"\#(ts)","sig":"\#(sig)"}"#)
        #expect(CommandSignature.verify(noID, name: "mason", key: key, now: now) == .missing("id"))
        let plain = try request("health-check")
        #expect(CommandSignature.verify(plain, name: "mason", key: key, now: now) == .notJSON)
        let upper = try request(#"{"command":"health-check","id":"c-1","ts":"\#(ts)","sig":"\#(sig.uppercased())"}"#)
        #expect(CommandSignature.verify(upper, name: "mason", key: key, now: now) == .badSignature, "lowercase hex only")
    }

    @Test("keys under 16 bytes are refused; a key never prints")
    func keys() {
        #expect(CommandKey("too-short") == nil)
        #expect("\(key)" == "***")
        #expect(!key.fingerprint.contains("0123"))
    }
}
