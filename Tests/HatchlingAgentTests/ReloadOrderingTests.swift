import FleetProtocol
import Logging
import MosquittoClient
import Testing

@testable import HatchlingAgent

/// What a reload changes in the dispatcher is in force before the reload is answered: a hub
/// that gets the answer and sends its next command at once meets the new settings.
@Suite("Reload ordering")
struct ReloadOrderingTests {
    static let quiet = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A dispatcher acted on as the event loop acts on it, with the real command runner: its
    /// configuration file rewritten to `reloaded` and a `config-reload` answered; then `body` with
    /// the harness. What the reload returned is in force when its answer goes out, and nothing else
    /// changes the dispatcher's settings.
    static func afterReload(
        from initial: String, to reloaded: String, _ body: (DispatcherHarness) async throws -> Void
    ) async throws {
        try await withConfigFile(initial) { file in
            let context = try makeContext(environment: ["HATCHLING_NAME": "mason", "HATCHLING_AGENT_CONFIG": file.path])
            let h = DispatcherHarness(runner: CommandRunner(context: context))
            h.settings = CommandSettings(context.configuration)
            h.dispatcher = CommandDispatcher(settings: h.settings, counters: h.counters)
            try reloaded.write(to: file, atomically: true, encoding: .utf8)
            await h.send(#"{"command": "config-reload", "id": "r"}"#)
            let reload = try #require(try h.lastResponse())
            guard case .reload(let report) = reload.outcome else {
                Issue.record("reload failed: \(reload)")
                return
            }
            #expect(!report.changed.isEmpty)
            try await body(h)
        }
    }

    @Test("a tighter rate limit applies to the very next commands after config-reload's answer")
    func rateLimitBeforeAnswer() async throws {
        try await Self.afterReload(from: "COMMAND_RATE_LIMIT=1000\n", to: "COMMAND_RATE_LIMIT=0.01\nCOMMAND_RATE_BURST=2\n") { h in
            for index in 0..<4 { await h.send(#"{"command": "version-report", "id": "f-\#(index)"}"#) }
            let flood = try h.responses().dropFirst()
            #expect(flood.count == 4)
            // The bucket is cut to the new burst of 2 and earns nothing to speak of at 0.01 a
            // second: at most 2 of the 4 run. Under the old limit (1000) all 4 would.
            #expect(flood.filter(\.ok).count <= 2)
            #expect(flood.contains { $0.error?.code == .rateLimited })
        }
    }

    @Test("a command key set by config-reload is required from the next command on")
    func commandKeyBeforeAnswer() async throws {
        try await Self.afterReload(from: "LOG_LEVEL=info\n", to: "FLEET_COMMAND_KEY=0123456789abcdef0123456789abcdef\n") { h in
            await h.send(#"{"command": "health-check", "id": "unsigned"}"#)
            let unsigned = try #require(try h.lastResponse())
            #expect(unsigned.id == "unsigned")
            #expect(unsigned.error?.code == .unauthorized)
        }
    }
}
