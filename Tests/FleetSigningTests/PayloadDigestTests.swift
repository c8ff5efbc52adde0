import FleetSigning
import Testing

@Suite("PayloadDigest: SHA-256 through libcrypto")
struct PayloadDigestTests {
    @Test("FIPS 180-2 vectors: empty and abc")
    func vectors() {
        #expect(PayloadDigest.sha256Hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(PayloadDigest.sha256Hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
