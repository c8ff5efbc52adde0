import FleetProtocol
@testable import HatchlingAgent
import Logging
import MosquittoClient
import Testing

/// What a reload changes in the dispatcher is in force before the reload is answered: a hub
/// that gets the answer and sends its next command at once meets the new settings.
@Suite("Reload ordering")
struct ReloadOrderingTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test("a tighter rate limit applies to the very next commands after config-reload's answer")
    func rateLimitBeforeAnswer() async throws {
        try await withConfigFile("COMMAND_RATE_LIMIT=1000\n") { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "rook", "HATCHLING_AGENT_CONFIG": file.path])
            let publisher = InMemoryPublisher()
            let dispatcher = AgentRuntime.makeDispatcher(context: context, publisher: publisher, logger: Self.quiet)
            let topic = context.configuration.topics.command
            try "COMMAND_RATE_LIMIT=0.01\nCOMMAND_RATE_BURST=2\n".write(to: file, atomically: true, encoding: .utf8)

            await dispatcher.handle(MQTTMessage(topic: topic, payload: Array(#"{"command": "config-reload", "id": "r"}"#.utf8)))
            let reload = try FleetJSON.decode(CommandResponse.self, from: #require(publisher.messages.last).payload)
            guard case .reload(let report) = reload.outcome else {
                Issue.record("reload failed: \(reload)")
                return
            }
            #expect(report.changed.contains("COMMAND_RATE_LIMIT"))
            // Nothing has consumed `context.reloads`: only what the reload itself applied counts.
            for index in 0..<4 {
                let payload = Array(#"{"command": "version-report", "id": "f-\#(index)"}"#.utf8)
                if !dispatcher.handleImmediately(MQTTMessage(topic: topic, payload: payload)) {
                    await dispatcher.handle(MQTTMessage(topic: topic, payload: payload))
                }
            }
            let flood = try publisher.messages.dropFirst().map { try FleetJSON.decode(CommandResponse.self, from: $0.payload) }
            #expect(flood.count == 4)
            // The bucket is cut to the new burst of 2 and earns nothing to speak of at 0.01 a
            // second: at most 2 of the 4 run. Under the old limit (1000) all 4 would.
            #expect(flood.filter(\.ok).count <= 2)
            #expect(flood.contains { $0.error?.code == .rateLimited })
        }
    }

    @Test("a command key set by config-reload is required from the next command on")
    func commandKeyBeforeAnswer() async throws {
        try await withConfigFile("LOG_LEVEL=info\n") { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "rook", "HATCHLING_AGENT_CONFIG": file.path])
            let publisher = InMemoryPublisher()
            let dispatcher = AgentRuntime.makeDispatcher(context: context, publisher: publisher, logger: Self.quiet)
            let topic = context.configuration.topics.command
            try "FLEET_COMMAND_KEY=0123456789abcdef0123456789abcdef\n".write(to: file, atomically: true, encoding: .utf8)

            await dispatcher.handle(MQTTMessage(topic: topic, payload: Array(#"{"command": "config-reload", "id": "r"}"#.utf8)))
            let reload = try FleetJSON.decode(CommandResponse.self, from: #require(publisher.messages.last).payload)
            #expect(reload.ok, "reload: \(reload)")

            await dispatcher.handle(MQTTMessage(topic: topic, payload: Array(#"{"command": "health-check", "id": "unsigned"}"#.utf8)))
            let unsigned = try FleetJSON.decode(CommandResponse.self, from: #require(publisher.messages.last).payload)
            #expect(unsigned.id == "unsigned")
            #expect(unsigned.error?.code == .unauthorized)
        }
    }
}
