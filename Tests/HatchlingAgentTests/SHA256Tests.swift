import Foundation
@testable import HatchlingAgent
import Testing

@Suite("SHA256")
struct SHA256Tests {
    @Test("the standard test vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ])
    func vectors(_ input: String, _ digest: String) {
        #expect(SHA256.hexDigest(of: Array(input.utf8)) == digest)
    }

    @Test("one million 'a'")
    func millionA() {
        let input = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hexDigest(of: input) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("the raw digest is 32 bytes; hex is lower case")
    func digestAndHex() {
        #expect(SHA256.digest(of: Array("abc".utf8)).count == 32)
        #expect(SHA256.hex([0x00, 0x0F, 0xA5, 0xFF]) == "000fa5ff")
    }

    @Test("lengths around the padding boundary agree with sha256sum")
    func paddingBoundaries() async throws {
        for length in [55, 56, 57, 63, 64, 65, 119, 120, 128] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            let text = String(decoding: bytes.map { 0x61 + $0 % 26 }, as: UTF8.self)
            try await withConfigFile(text) { file in
                let expected = try sha256sum(file)
                #expect(SHA256.hexDigest(of: Array(text.utf8)) == expected, "length \(length)")
            }
        }
    }
}
