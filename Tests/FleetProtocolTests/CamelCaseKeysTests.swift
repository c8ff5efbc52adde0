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

    @Test("keys only: values, escaped text and odd underscores are left as they are")
    func keysOnly() {
        func converted(_ text: String) -> String { String(decoding: FleetJSON.camelCaseKeys(Array(text.utf8)), as: UTF8.self) }
        #expect(converted(#"{"boot_id":"a_b","x":{"net_rx_bytes" : 1,"load_1":[ "c_d" ]}}"#) == #"{"bootId":"a_b","x":{"netRxBytes" : 1,"load1":[ "c_d" ]}}"#)
        #expect(converted(#"{"_lead":1,"trail_":2,"dou__ble":3,"Up_Per":4,"esc\"_a":5}"#) == #"{"_lead":1,"trail_":2,"dou__ble":3,"Up_Per":4,"esc\"A":5}"#)
        #expect(converted(#"["a_b","c_d"]"#) == #"["a_b","c_d"]"#)
        #expect(converted(#"{"a_b"#) == #"{"a_b"#, "a truncated document stays as it is")
        #expect(converted("") == "")
    }
}
