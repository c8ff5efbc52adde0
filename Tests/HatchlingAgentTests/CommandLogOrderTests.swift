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
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.value.withLock { $0.append(event.message.description) }
    }
}

/// A publisher that holds back `afterPendingWrites` work until the test runs it, as the network
/// thread does until its next pass.
final class DeferringPublisher: BusPublisher {
    let published = Mutex<[OutboundMessage]>([])
    let pending = Mutex<[@Sendable () -> Void]>([])

    func publish(_ message: OutboundMessage) throws -> Int32 {
        published.withLock { $0.append(message) }
        return 1
    }

    func afterPendingWrites(_ work: @escaping @Sendable () -> Void) {
        pending.withLock { $0.append(work) }
    }

    func runPending() {
        for work in pending.withLock({ p in defer { p.removeAll() }; return p }) { work() }
    }
}

/// Answers `version-report` at once (as the agent does from its cache); the rest through `run`.
struct ImmediateVersionHandlers: CommandHandling {
    func run(_ command: FleetCommand) async -> CommandOutcome {
        .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil))
    }

    func canRunImmediately(_ command: FleetCommand) -> Bool { command == .versionReport }

    func runImmediately(_ command: FleetCommand) -> CommandOutcome? {
        .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil))
    }
}

@Suite("When a command's log line is written")
struct CommandLogOrderTests {
    let lines = LogLines()
    let publisher = DeferringPublisher()
    let dispatcher: CommandDispatcher
    let topics = FleetTopics(name: try! HatchlingName(validating: "mason"))

    init() {
        let lines = self.lines
        dispatcher = CommandDispatcher(
            topics: topics, publisher: publisher, handlers: ImmediateVersionHandlers(), counters: CounterStore(),
            rateLimit: 0, rateBurst: 1, logger: Logger(label: "test", factory: { _ in CapturingLogHandler(lines: lines) }))
    }

    var handledLines: Int { lines.value.withLock { $0.filter { $0 == "command handled" }.count } }

    @Test("answered on the network thread: published first, logged after the next pass")
    func immediate() {
        let message = MQTTMessage(topic: topics.command, payload: Array(#"{"command":"version-report","id":"c-1"}"#.utf8))
        #expect(dispatcher.handleImmediately(message))
        #expect(publisher.published.withLock { $0.count } == 1)
        #expect(handledLines == 0, "the log line was written before the answer could go out")
        publisher.runPending()
        #expect(handledLines == 1)
    }

    @Test("errors answered on the network thread are logged the same way")
    func immediateError() {
        let message = MQTTMessage(topic: topics.command, payload: Array(#"{"command":"reboot","id":"c-2"}"#.utf8))
        #expect(dispatcher.handleImmediately(message))
        #expect(handledLines == 0)
        publisher.runPending()
        #expect(handledLines == 1)
    }

    @Test("answered by the worker task: logged at once, nothing left pending")
    func async() async {
        await dispatcher.handle(MQTTMessage(topic: topics.command, payload: Array(#"{"command":"health-check","id":"c-3"}"#.utf8)))
        #expect(publisher.published.withLock { $0.count } == 1)
        #expect(handledLines == 1)
        #expect(publisher.pending.withLock { $0.isEmpty })
    }
}
