import FleetProtocol
import Logging
import MosquittoClient
import Synchronization
import Testing

@testable import HatchlingAgent

/// Log messages kept in memory, shared by every copy of the handler.
final class LogLines: Sendable {
    let value = Mutex<[String]>([])
}

/// Keeps log messages in memory.
struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    /// Appends the event's metadata (sorted `key=value`) to each line.
    var keepMetadata = false
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var line = event.message.description
        if keepMetadata, let metadata = event.metadata {
            line += metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        }
        lines.value.withLock { $0.append(line) }
    }
}

@Suite("When a command's log line is written")
struct CommandLogOrderTests {
    let topics = FleetTopics(name: try! HatchlingName(validating: "mason"))

    func decide(_ payload: String) -> CommandAction {
        let settings = CommandSettings(topics: topics, rateLimit: 0, rateBurst: 1)
        var dispatcher = CommandDispatcher(settings: settings, counters: CounterStore())
        let message = MQTTMessage(topic: topics.command, payload: Array(payload.utf8))
        return dispatcher.decide(message, at: .now(), settings: settings)
    }

    @Test("an answer carries its log line for the loop to write once the answer is on its way; the dispatcher writes none")
    func answerCarriesLine() {
        guard case .reply(let message, let log) = decide(#"{"command":"reboot","id":"c-2"}"#) else {
            Issue.record("an unknown command is refused at once")
            return
        }
        #expect(message.topic == topics.response)
        #expect(log.map(\.message) == ["command handled"])
        #expect(log.first?.outcome == "unknown-command")
        #expect(log.first?.id == "c-2")
    }

    @Test("a command that passed every check comes back to run, with no line yet")
    func runCarriesNothing() {
        guard case .run(let admitted, let log) = decide(#"{"command":"version-report","id":"c-1"}"#) else {
            Issue.record("a good command is admitted")
            return
        }
        #expect(admitted.command == .versionReport)
        #expect(log.isEmpty)
    }

    @Test("a line for an answer that did not go out says so")
    func unpublished() {
        let lines = LogLines()
        let logger = Logger(label: "test", factory: { _ in CapturingLogHandler(lines: lines, keepMetadata: true) })
        DecisionLogLine(level: .info, message: "command handled", outcome: "ok").write(to: logger, published: false)
        #expect(lines.value.withLock { $0 } == ["command handled command.outcome=ok-unpublished"])
    }
}
