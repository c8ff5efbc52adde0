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

    /// A dispatcher made as the runtime makes it, its configuration file rewritten to `reloaded`
    /// and a `config-reload` answered; then `body` with the dispatcher, where it publishes, and
    /// the command topic. Nothing consumes `context.reloads`: only what the reload itself applied
    /// is in force.
    static func afterReload(
        from initial: String, to reloaded: String,
        _ body: (CommandDispatcher, InMemoryPublisher, String) async throws -> Void
    ) async throws {
        try await withConfigFile(initial) { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "rook", "HATCHLING_AGENT_CONFIG": file.path])
            let publisher = InMemoryPublisher()
            let dispatcher = AgentRuntime.makeDispatcher(context: context, publisher: publisher, logger: Self.quiet)
            let topic = context.configuration.topics.command
            try reloaded.write(to: file, atomically: true, encoding: .utf8)
            await dispatcher.handle(MQTTMessage(topic: topic, payload: Array(#"{"command": "config-reload", "id": "r"}"#.utf8)))
            let reload = try FleetJSON.decode(CommandResponse.self, from: #require(publisher.messages.last).payload)
            guard case .reload(let report) = reload.outcome else {
                Issue.record("reload failed: \(reload)")
                return
            }
            #expect(!report.changed.isEmpty)
            try await body(dispatcher, publisher, topic)
        }
    }

    @Test("a tighter rate limit applies to the very next commands after config-reload's answer")
    func rateLimitBeforeAnswer() async throws {
        try await Self.afterReload(from: "COMMAND_RATE_LIMIT=1000\n", to: "COMMAND_RATE_LIMIT=0.01\nCOMMAND_RATE_BURST=2\n") {
            dispatcher, publisher, topic in
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
        try await Self.afterReload(from: "LOG_LEVEL=info\n", to: "FLEET_COMMAND_KEY=0123456789abcdef0123456789abcdef\n") {
            dispatcher, publisher, topic in
            await dispatcher.handle(MQTTMessage(topic: topic, payload: Array(#"{"command": "health-check", "id": "unsigned"}"#.utf8)))
            let unsigned = try FleetJSON.decode(CommandResponse.self, from: #require(publisher.messages.last).payload)
            #expect(unsigned.id == "unsigned")
            #expect(unsigned.error?.code == .unauthorized)
        }
    }
}
