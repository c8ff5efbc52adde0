import FleetProtocol
import Testing

@testable import HatchlingAgent

@Suite("HTTPURL")
struct HTTPURLTests {
    @Test(
        "host, port and path",
        arguments: [
            ("http://127.0.0.1:18789/health", "127.0.0.1", 18789, "/health"),
            ("http://gateway/health", "gateway", 80, "/health"),
            ("http://gateway", "gateway", 80, "/"),
            ("http://gateway:8080", "gateway", 8080, "/"),
            ("http://gateway?probe=1", "gateway", 80, "/?probe=1"),
            ("http://gw:81/a/b?c=d", "gw", 81, "/a/b?c=d"),
            ("http://[::1]:8080/h", "::1", 8080, "/h"),
            ("http://[::1]/h", "::1", 80, "/h"),
            ("http://[fe80::1%25eth0]:1/", "fe80::1%25eth0", 1, "/"),
        ])
    func parses(_ text: String, _ host: String, _ port: Int, _ path: String) throws {
        let url = try #require(HTTPURL(text))
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.path == path)
        #expect(HTTPURL(url.description) == url, "description parses back")
    }

    @Test("description: brackets for IPv6, no port when 80")
    func description() {
        #expect(HTTPURL("http://[::1]:8080/h")?.description == "http://[::1]:8080/h")
        #expect(HTTPURL("http://gateway:80/health")?.description == "http://gateway/health")
        #expect(HTTPURL("http://gateway")?.description == "http://gateway/")
    }

    @Test(
        "refused: other schemes, no host, bad ports, credentials, spaces",
        arguments: [
            "", "https://gateway/health", "ftp://gateway/", "gateway/health", "http://", "http:///health",
            "http://:80/", "http://[]:80/", "http://gateway:0/", "http://gateway:65536/", "http://gateway:abc/", "http://gateway:/",
            "http://user:pw@gateway/", "http://gateway/a b", "http://[::1/", "http://[::1]x/", "http://gate way/",
        ])
    func refused(_ text: String) {
        #expect(HTTPURL(text) == nil)
    }
}

@Suite("VersionText")
struct VersionTextTests {
    @Test(
        "the first version-looking token of a program's output",
        arguments: [
            ("openclaw 2026.1.5", "2026.1.5"), ("v1.2.3-beta", "1.2.3-beta"), ("V2.0", "2.0"),
            ("openclaw version (v2.0.1), built 2026", "2.0.1"), ("openclaw 2026.1.5\nnode v22.1.0\n", "2026.1.5"),
            ("1.0.0+build.7", "1.0.0+build.7"),
        ])
    func found(_ output: String, _ version: String) {
        #expect(VersionText.firstVersion(in: output) == version)
    }

    @Test("no version: nil", arguments: ["", "openclaw", "version 3", "vNext", "error: not found", "v.1", "1.0;rm"])
    func notFound(_ output: String) {
        #expect(VersionText.firstVersion(in: output) == nil)
    }

    @Test("isVersionLike: 1 to 64 of A-Z a-z 0-9 . _ + - :")
    func versionLike() {
        #expect(VersionText.isVersionLike("2026.11.1"))
        #expect(VersionText.isVersionLike("1:2.0_rc+3-x"))
        #expect(VersionText.isVersionLike(String(repeating: "1", count: 64)))
        #expect(!VersionText.isVersionLike(String(repeating: "1", count: 65)))
        #expect(!VersionText.isVersionLike(""))
        #expect(!VersionText.isVersionLike("1.0 beta"))
        #expect(!VersionText.isVersionLike("1.0/../x"))
    }
}
