import FleetProtocol
import Testing

@Suite("HatchlingName validation")
struct HatchlingNameTests {
    @Test(
        "accepts names of A-Z a-z 0-9 _ - that start with a letter or digit",
        arguments: [
            "mason", "a", "Z", "7", "A1_b-c", "0start", "mason-2_test", String(repeating: "a", count: 64),
        ])
    func accepts(_ text: String) throws {
        let name = try HatchlingName(validating: text)
        #expect(name.rawValue == text)
        #expect(name.description == text)
    }

    @Test("an empty name is refused as empty")
    func empty() {
        #expect(throws: HatchlingNameError.empty) { try HatchlingName(validating: "") }
    }

    @Test("65 characters are refused as too long, with the count")
    func tooLong() {
        #expect(throws: HatchlingNameError.tooLong(65)) { try HatchlingName(validating: String(repeating: "a", count: 65)) }
    }

    @Test(
        "a character outside the set is refused at its byte offset",
        arguments: [
            ("ma/son", 2), ("a+b", 1), ("a#b", 1), ("a b", 1), ("a\u{0}b", 1), ("méson", 1), ("mason.", 5), ("ab\u{7F}", 2),
        ])
    func badCharacter(_ text: String, _ offset: Int) {
        #expect(throws: HatchlingNameError.badCharacter(offset: offset)) { try HatchlingName(validating: text) }
    }

    @Test(
        "a name that does not start with a letter or digit is refused",
        arguments: [
            "-mason", "_mason", "/mason", "+", "#", " mason", "\u{0}", "émile",
        ])
    func badFirstCharacter(_ text: String) {
        #expect(throws: HatchlingNameError.badFirstCharacter) { try HatchlingName(validating: text) }
    }

    @Test("length is counted in bytes: 'a' and 32 two-byte characters are 65 bytes")
    func lengthInBytes() {
        #expect(throws: HatchlingNameError.tooLong(65)) { try HatchlingName(validating: "a" + String(repeating: "é", count: 32)) }
    }

    @Test("each error says which rule was broken")
    func descriptions() {
        #expect(HatchlingNameError.empty.description == "must not be empty")
        #expect(HatchlingNameError.tooLong(65).description.contains("64"))
        #expect(HatchlingNameError.tooLong(65).description.contains("65"))
        #expect(HatchlingNameError.badFirstCharacter.description.contains("start with a letter or a digit"))
        #expect(HatchlingNameError.badCharacter(offset: 2).description.contains("byte 3"))
    }

    @Test("decoding validates: an invalid name in JSON does not decode")
    func decodingValidates() throws {
        let good = try FleetJSON.decode(HatchlingName.self, from: Array(#""mason""#.utf8))
        #expect(good.rawValue == "mason")
        #expect(throws: (any Error).self) { try FleetJSON.decode(HatchlingName.self, from: Array(#""ma/son""#.utf8)) }
        #expect(throws: (any Error).self) { try FleetJSON.decode(HatchlingName.self, from: Array(#""""#.utf8)) }
        #expect(try FleetJSON.encode(good) == Array(#""mason""#.utf8))
    }
}
