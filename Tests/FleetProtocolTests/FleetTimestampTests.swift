import FleetProtocol
import Testing

@Suite("FleetTimestamp")
struct FleetTimestampTests {
    static let contractTime: Int64 = 1_795_928_400_000  // 2026-11-29T05:00:00Z

    @Test(
        "formats RFC 3339 in UTC with milliseconds",
        arguments: [
            (0, "1970-01-01T00:00:00.000Z"),
            (1, "1970-01-01T00:00:00.001Z"),
            (contractTime + 120, "2026-11-29T05:00:00.120Z"),
            (1_709_210_096_789, "2024-02-29T12:34:56.789Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (4_107_542_400_000 - 1, "2100-02-28T23:59:59.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-1000, "1969-12-31T23:59:59.000Z"),
            (-1001, "1969-12-31T23:59:58.999Z"),
            (-14_182_939_750, "1969-07-20T20:17:40.250Z"),
            (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        ] as [(Int64, String)])
    func format(_ millis: Int64, _ text: String) {
        #expect(FleetTimestamp(millisecondsSinceEpoch: millis).description == text)
    }

    @Test("parses with Z, lower-case z and t")
    func parseZulu() {
        #expect(FleetTimestamp(rfc3339: "2026-11-29T05:00:00Z")?.millisecondsSinceEpoch == Self.contractTime)
        #expect(FleetTimestamp(rfc3339: "2026-11-29t05:00:00z")?.millisecondsSinceEpoch == Self.contractTime)
        #expect(FleetTimestamp(rfc3339: "2024-02-29T12:34:56.789Z")?.millisecondsSinceEpoch == 1_709_210_096_789)
        #expect(FleetTimestamp(rfc3339: "1969-12-31T23:59:59.999Z")?.millisecondsSinceEpoch == -1)
    }

    @Test(
        "parses numeric offsets",
        arguments: [
            "2026-11-29T07:00:00+02:00", "2026-11-28T23:30:00-05:30", "2026-11-29T05:00:00+00:00", "2026-11-29T05:00:00-00:00",
        ])
    func parseOffsets(_ text: String) {
        #expect(FleetTimestamp(rfc3339: text)?.millisecondsSinceEpoch == Self.contractTime)
    }

    @Test(
        "fractions of 1 to 9 digits keep milliseconds and drop the rest",
        arguments: [
            (".1", 100), (".12", 120), (".123", 123), (".1234", 123), (".12345", 123), (".123456", 123),
            (".1234567", 123), (".12345678", 123), (".123456789", 123), (".999999999", 999), (".05", 50), (".007", 7),
        ] as [(String, Int64)])
    func fractions(_ fraction: String, _ millis: Int64) {
        let parsed = FleetTimestamp(rfc3339: "2026-11-29T05:00:00\(fraction)Z")
        #expect(parsed?.millisecondsSinceEpoch == Self.contractTime + millis)
        let withOffset = FleetTimestamp(rfc3339: "2026-11-29T07:00:00\(fraction)+02:00")
        #expect(withOffset?.millisecondsSinceEpoch == Self.contractTime + millis)
    }

    @Test(
        "anything else is refused",
        arguments: [
            "", "garbage", "2026-11-29T05:00:00", "2026-11-29", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
            "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
            "2026-11-00T00:00:00Z", "2026-11-29T24:00:00Z", "2026-11-29T05:60:00Z", "2026-11-29T05:00:00.Z",
            "2026-11-29T05:00:00+0200", "2026-11-29T05:00:00+02", "2026-11-29T05:00:00Zjunk", "2026-11-29X05:00:00Z",
            "26-11-29T05:00:00Z", "2026-11-29T05:00:00 Z", "2026-11-29T05:00:00+24:00", "+026-11-29T05:00:00Z",
        ])
    func rejects(_ text: String) {
        #expect(FleetTimestamp(rfc3339: text) == nil)
    }

    @Test("a leap second is read as the second before it")
    func leapSecond() {
        #expect(FleetTimestamp(rfc3339: "2016-12-31T23:59:60Z") == FleetTimestamp(rfc3339: "2016-12-31T23:59:59Z"))
    }

    @Test("description parses back to the same instant, for many instants")
    func roundTrip() {
        var failures: [Int64] = []
        var millis: Int64 = -62_135_596_800_000
        // A prime step walks across every month, day, hour and millisecond residue over four centuries.
        while millis <= 253_402_300_799_999 {
            let time = FleetTimestamp(millisecondsSinceEpoch: millis)
            if FleetTimestamp(rfc3339: time.description) != time { failures.append(millis) }
            millis += 9_999_991_337
        }
        for millis in Int64(-100_000)...100_000 where millis % 7 == 0 || abs(millis) < 1_500 {
            let time = FleetTimestamp(millisecondsSinceEpoch: millis)
            if FleetTimestamp(rfc3339: time.description) != time { failures.append(millis) }
        }
        #expect(failures.isEmpty, "first failures: \(failures.prefix(5))")
    }

    @Test("Codable writes and reads the RFC 3339 text")
    func codable() throws {
        let time = FleetTimestamp(millisecondsSinceEpoch: Self.contractTime + 120)
        #expect(try FleetJSON.encode(time) == Array(#""2026-11-29T05:00:00.120Z""#.utf8))
        #expect(try FleetJSON.decode(FleetTimestamp.self, from: Array(#""2026-11-29T07:00:00.12+02:00""#.utf8)) == time)
        #expect(throws: (any Error).self) { try FleetJSON.decode(FleetTimestamp.self, from: Array(#""yesterday""#.utf8)) }
    }

    @Test("arithmetic and ordering")
    func arithmetic() {
        let time = FleetTimestamp(millisecondsSinceEpoch: Self.contractTime)
        let later = time.adding(seconds: 300.5)
        #expect(later.millisecondsSinceEpoch == Self.contractTime + 300_500)
        #expect(later.seconds(since: time) == 300.5)
        #expect(time.seconds(since: later) == -300.5)
        #expect(time < later)
        #expect(!(later < time))
    }
}

@Suite("FleetTimestamp bytes")
struct FleetTimestampBytesTests {
    @Test(
        "appendRFC3339 writes description's text, zero-padded, with more digits past year 9999 and a sign before year 0",
        arguments: [
            (Int64(0), "1970-01-01T00:00:00.000Z"),
            (1_795_928_400_120, "2026-11-29T05:00:00.120Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
            (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),
            (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
            (253_402_300_800_000, "10000-01-01T00:00:00.000Z"),
            (-62_167_219_200_000, "0000-01-01T00:00:00.000Z"),
            (-62_167_219_200_001, "-0001-12-31T23:59:59.999Z"),
            (Int64.max, "292278994-08-17T07:12:55.807Z"),
            (Int64.min, "-292275055-05-16T16:47:04.192Z"),
        ])
    func text(milliseconds: Int64, expected: String) {
        let instant = FleetTimestamp(millisecondsSinceEpoch: milliseconds)
        var bytes: [UInt8] = []
        instant.appendRFC3339(to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == expected)
        #expect(instant.description == expected)
    }
}
