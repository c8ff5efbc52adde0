import FleetProtocol
import Foundation
import Testing

/// docs/schemas/fleet.schema.json against the golden files and against real traffic.
@Suite("JSON Schemas", .serialized)
struct SchemaTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schema = root.appendingPathComponent("docs/schemas/fleet.schema.json")

    /// Validates [kind, payload] pairs with Python's jsonschema; returns the validator's lines.
    func validate(_ items: [(String, Any)]) throws -> (ok: Bool, lines: [String]) {
        let input = try makeTemporaryDirectory(prefix: "schema").appendingPathComponent("items.json")
        try JSONSerialization.data(withJSONObject: items.map { [$0.0, $0.1] }).write(to: input)
        let script = Self.root.appendingPathComponent("Tests/IntegrationTests/Fixtures/validate_payloads.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try systemPython())
        process.arguments = [script.path, Self.schema.path, input.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, output.split(separator: "\n").map(String.init))
    }

    func golden(_ name: String) throws -> Any {
        let url = Self.root.appendingPathComponent("Tests/FleetProtocolTests/Golden/\(name).json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }

    static let goldens: [(String, String)] = [
        ("heartbeat", "heartbeat"), ("response", "response-ok-health"), ("response", "response-ok-version"),
        ("response", "response-ok-reload"), ("response", "response-ok-status"), ("response", "response-error"),
        ("response", "response-plain-text"), ("status", "status-online"), ("status", "status-offline-lost"),
        ("status", "status-offline-shutdown"), ("event", "event"),
    ]

    @Test("every golden file is valid against its schema")
    func goldenFiles() throws {
        let result = try validate(try Self.goldens.map { ($0.0, try golden($0.1)) })
        #expect(result.ok, "\(result.lines)")
        #expect(result.lines.filter { $0.hasPrefix("valid ") }.count == Self.goldens.count)
    }

    @Test("the schemas reject what breaks the contract")
    func rejections() throws {
        var extraKey = try #require(try golden("heartbeat") as? [String: Any])
        extraKey["environment"] = ["PATH": "/usr/bin"]
        var missingNull = try #require(try golden("heartbeat") as? [String: Any])
        var container = try #require(missingNull["container"] as? [String: Any])
        container.removeValue(forKey: "mem_limit_bytes")
        missingNull["container"] = container
        var badName = try #require(try golden("status-online") as? [String: Any])
        badName["boot_id"] = ""
        var okWithError = try #require(try golden("response-error") as? [String: Any])
        okWithError["ok"] = true
        var unknownCode = try #require(try golden("response-error") as? [String: Any])
        unknownCode["error"] = ["code": "exploded", "message": "x"]
        var events: [[String: Any]] = []
        for (key, value) in [
            ("event", "Task_Done" as Any), ("data", [1]), ("seq", 0), ("boot_id", "ABC"), ("ts", "yesterday"), ("v", 2), ("shell", "ls"),
        ] {
            var event = try #require(try golden("event") as? [String: Any])
            event[key] = value
            events.append(event)
        }
        var noData = try #require(try golden("event") as? [String: Any])
        noData.removeValue(forKey: "data")
        events.append(noData)
        let cases =
            [("heartbeat", extraKey), ("heartbeat", missingNull), ("status", badName), ("response", okWithError), ("response", unknownCode)]
            + events.map { ("event", $0) }
        for (kind, payload) in cases {
            let result = try validate([(kind, payload)])
            #expect(!result.ok, "\(kind) should be invalid: \(result.lines)")
        }
    }

    @Test("everything a real agent publishes is valid: statuses, heartbeats, every answer and every error")
    func liveTraffic() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/ibis/#"])
            defer { hub.close() }
            try await withAgent("ibis", broker: broker, environment: ["HEARTBEAT_INTERVAL": "1"]) { agent in
                try await hub.waitOnline("ibis")
                let commands =
                    FleetCommand.allCases.map { #"{"command":"\#($0.rawValue)","id":"s-\#($0.rawValue)"}"# }
                    + [
                        "health-check", "bogus", #"{"command": 1, "id": "s-bad"}"#,
                        #"{"command":"status-report","id":"s-old","expires_at":"2001-01-01T00:00:00Z"}"#,
                    ]
                for command in commands { try hub.publish("fleet/ibis/command", command) }
                _ = try await hub.waitForResponse(on: "fleet/ibis/response", "last answer") { $0.id == "s-old" }
                _ = try await hub.waitForMessage("second heartbeat") {
                    ($0.topic == "fleet/ibis/heartbeat") && String(decoding: $0.payload, as: UTF8.self).contains(#""seq":2"#)
                }
                await agent.stop()
                _ = try await hub.waitForMessage("shutdown") { String(decoding: $0.payload, as: UTF8.self).contains("shutdown") }
            }
            let items: [(String, Any)] = try hub.messages.compactMap { message in
                let kind = message.topic.split(separator: "/").last.map(String.init) ?? ""
                guard ["heartbeat", "response", "status"].contains(kind) else { return nil }
                return (kind, try JSONSerialization.jsonObject(with: Data(message.payload)))
            }
            #expect(items.count >= 12)
            let result = try validate(items)
            #expect(result.ok, "\(result.lines.filter { $0.hasPrefix("invalid") })")
        }
    }
}
