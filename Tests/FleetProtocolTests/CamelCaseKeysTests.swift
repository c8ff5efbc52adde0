import FleetProtocol
import Foundation
import Testing

@Suite("FleetJSON.decode: keys made camelCase in one pass, as .convertFromSnakeCase reads them")
struct CamelCaseKeysTests {
    static func golden(_ name: String) throws -> [UInt8] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/\(name).json")
        return Array(try Data(contentsOf: url))
    }

    /// Foundation's own reading, the reference.
    static func reference<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(type, from: Data(bytes))
    }

    @Test("every golden payload decodes to what .convertFromSnakeCase makes of it")
    func golden() throws {
        for name in ["heartbeat"] {
            let bytes = try Self.golden(name)
            #expect(try FleetJSON.decode(Heartbeat.self, from: bytes) == Self.reference(Heartbeat.self, bytes))
        }
        for name in ["status-online", "status-offline-lost", "status-offline-shutdown"] {
            let bytes = try Self.golden(name)
            #expect(try FleetJSON.decode(StatusPayload.self, from: bytes) == Self.reference(StatusPayload.self, bytes), "\(name)")
        }
        for name in ["response-error", "response-ok-health", "response-ok-reload", "response-ok-status", "response-ok-version"] {
            let bytes = try Self.golden(name)
            #expect(try FleetJSON.decode(CommandResponse.self, from: bytes) == Self.reference(CommandResponse.self, bytes), "\(name)")
        }
    }

    @Test(
        "keys only: values are left as they are; a key it would not convert exactly (escape, upper case, odd underscores) means nil, and the decoder converts itself"
    )
    func keysOnly() throws {
        func converted(_ text: String) -> String? { FleetJSON.camelCaseKeys(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) } }
        #expect(
            converted(#"{"boot_id":"a_b","x":{"net_rx_bytes" : 1,"load_1":[ "c_d" ],"rate-limited":2}}"#)
                == #"{"bootId":"a_b","x":{"netRxBytes" : 1,"load1":[ "c_d" ],"rate-limited":2}}"#)
        for odd in [#"{"_lead":1}"#, #"{"trail_":2}"#, #"{"dou__ble":3}"#, #"{"Up_Per":4}"#, #"{"esc\u005f_a":5}"#, #"{"boot\u005fid":"x"}"#] {
            #expect(converted(odd) == nil, "\(odd)")
        }
        #expect(converted(#"["a_b","c_d"]"#) == #"["a_b","c_d"]"#)
        #expect(converted(#"{"a_b"#) == #"{"a_b"#, "a truncated document stays as it is")
        #expect(converted("") == "")
        // The fallback reads as .convertFromSnakeCase does.
        let odd = Array(#"{"v":1,"state":"online","boot_id":"b","agent_Version":"9"}"#.utf8)
        #expect(try FleetJSON.decode(StatusPayload.self, from: odd) == Self.reference(StatusPayload.self, odd))
    }

    @Test("the fast readers leave to the decoder what it reads differently: 1e400, 1e-400, invalid UTF-8, escaped or camelCase keys")
    func readerEdges() throws {
        let beat = String(decoding: try Self.golden("heartbeat"), as: UTF8.self)
        let cases = [
            beat.replacingOccurrences(of: #""cpu_pct":1.2"#, with: #""cpu_pct":1e400"#),
            beat.replacingOccurrences(of: #""uptime_s":3600,"#, with: #""uptime_s":1e-400,"#),
            beat.replacingOccurrences(of: #""boot_id":"#, with: #""bootId":"x","boot_id":"#),
            beat.replacingOccurrences(of: #""boot_id":"#, with: #""boot\u005fid":"#),
        ]
        for text in cases {
            #expect(text != beat)
            #expect(Heartbeat.read(Array(text.utf8)) == nil, "\(text.prefix(120))")
        }
        var invalid = Array(beat.utf8)
        invalid.insert(contentsOf: [UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\""), UInt8(ascii: ":"), UInt8(ascii: "1"), UInt8(ascii: ",")], at: 1)
        #expect(Heartbeat.read(invalid) == nil)
        let status = Array(#"{"v":1,"state":"online","boot_id":"b","agentVersion":"9"}"#.utf8)
        #expect(StatusPayload.read(status) == nil)
        #expect(try FleetJSON.decode(StatusPayload.self, from: status) == Self.reference(StatusPayload.self, status))
    }
}
