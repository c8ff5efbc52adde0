import FleetProtocol
import FleetSigning
import Logging
import MosquittoClient
import Synchronization

@testable import HatchlingAgent

/// Keeps every published message in memory; can be told to fail.
final class InMemoryPublisher: Sendable {
    private let state = Mutex<(messages: [OutboundMessage], failing: Bool)>(([], false))

    struct Refused: Error, CustomStringConvertible {
        var description: String { "broker gone" }
    }

    var messages: [OutboundMessage] { state.withLock { $0.messages } }

    func setFailing(_ failing: Bool) {
        state.withLock { $0.failing = failing }
    }

    @discardableResult
    func publish(_ message: OutboundMessage) throws -> Int32 {
        try state.withLock { state in
            if state.failing { throw Refused() }
            state.messages.append(message)
            return Int32(state.messages.count)
        }
    }
}

/// A monotonic clock (seconds) and a wall clock that move only when told.
final class ManualClock: Sendable {
    private let state = Mutex<(monotonic: Double, wall: FleetTimestamp)>((1000, FleetTimestamp(millisecondsSinceEpoch: 1_795_928_400_000)))

    var monotonic: Double { state.withLock { $0.monotonic } }
    var wall: FleetTimestamp { state.withLock { $0.wall } }

    /// Moves both clocks on.
    func advance(_ seconds: Double) {
        state.withLock {
            $0.monotonic += seconds
            $0.wall = $0.wall.adding(seconds: seconds)
        }
    }
}

/// Records which commands ran and answers each with a fixed outcome of the right kind.
final class FakeHandlers: CommandRunning {
    private let ran = Mutex<[FleetCommand]>([])
    /// Time the handler "takes", on the manual clock.
    let clock: ManualClock?
    let workSeconds: Double

    init(clock: ManualClock? = nil, workSeconds: Double = 0) {
        self.clock = clock
        self.workSeconds = workSeconds
    }

    var commands: [FleetCommand] { ran.withLock { $0 } }

    static let gateway = Heartbeat.GatewaySection(ok: true, httpStatus: 200, latencyMs: 1)

    func needsIO(_ command: FleetCommand) -> Bool { command != .statusReport }

    func run(_ command: FleetCommand) -> CommandResult {
        CommandResult(outcome(command))
    }

    func outcome(_ command: FleetCommand) -> CommandOutcome {
        ran.withLock { $0.append(command) }
        if workSeconds > 0 { clock?.advance(workSeconds) }
        switch command {
        case .healthCheck:
            return .health(
                HealthReport(
                    status: .healthy,
                    checks: .init(
                        gateway: Self.gateway, bus: .init(ok: true, protocol: "5"),
                        memory: .init(ok: true, usedBytes: 1, limitBytes: 2, usedPct: 50, scope: "container"),
                        disk: .init(ok: true, path: "/data", freeBytes: 1, freePct: 50))))
        case .versionReport:
            return .version(VersionReport(agent: "1.0.0", openclaw: nil, image: nil))
        case .configReload:
            return .reload(ReloadReport(changed: [], restartRequired: [], configSha256: String(repeating: "0", count: 64)))
        case .statusReport:
            let heartbeat = Heartbeat(
                hatchling: try! HatchlingName(validating: "mason"), bootId: "b", seq: 1, ts: FleetTimestamp(millisecondsSinceEpoch: 0),
                intervalS: 30, health: .healthy, agent: .init(version: "1.0.0", uptimeS: 1, rssBytes: 1),
                host: .init(uptimeS: nil, load: nil, memTotalBytes: nil, memAvailableBytes: nil, cpuPct: nil),
                container: .init(uptimeS: nil, memCurrentBytes: nil, memLimitBytes: nil, cpuPct: nil, cpuLimitCores: nil),
                disk: .init(path: "/data", totalBytes: nil, freeBytes: nil), gateway: Self.gateway)
            return .status(StatusReport(heartbeat: heartbeat, counters: AgentCounters()))
        }
    }
}

/// One dispatcher wired to in-memory parts, acted on as the event loop acts on it (decide; run the
/// command at once; complete; publish; write the log lines after the answer), with no thread.
final class DispatcherHarness: @unchecked Sendable {
    let topics = FleetTopics(name: try! HatchlingName(validating: "mason"))
    let publisher = InMemoryPublisher()
    let clock = ManualClock()
    let counters = CounterStore()
    let handlers: FakeHandlers
    /// What runs the commands: `handlers` unless given.
    let runner: any CommandRunning
    var settings: CommandSettings
    var dispatcher: CommandDispatcher
    /// Every line the loop would have written, in order.
    private(set) var log: [DecisionLogLine] = []

    init(
        rateLimit: Double = 1000, rateBurst: Int = 1000, workSeconds: Double = 0, commandKey: CommandKey? = nil,
        runner: (any CommandRunning)? = nil
    ) {
        handlers = FakeHandlers(clock: clock, workSeconds: workSeconds)
        self.runner = runner ?? handlers
        settings = CommandSettings(topics: topics, rateLimit: rateLimit, rateBurst: rateBurst, commandKey: commandKey)
        dispatcher = CommandDispatcher(settings: settings, counters: counters)
    }

    var now: CommandClock { CommandClock(wall: clock.wall, monotonic: clock.monotonic) }

    /// Delivers a payload on the command topic.
    func send(_ payload: String, correlation: [UInt8]? = nil, topic: String? = nil) async {
        send(bytes: Array(payload.utf8), correlation: correlation, topic: topic)
    }

    func send(bytes: [UInt8], correlation: [UInt8]? = nil, topic: String? = nil) {
        deliver(MQTTMessage(topic: topic ?? topics.command, payload: bytes, correlationData: correlation))
    }

    /// Decides and acts on one message, as the event loop does.
    func deliver(_ message: MQTTMessage) {
        act(dispatcher.decide(message, at: now, settings: settings))
    }

    private func act(_ action: CommandAction) {
        switch action {
        case .reply(let message, let lines):
            var published = true
            do {
                try publisher.publish(message)
            } catch {
                published = false
                counters.update {
                    $0.dropped += 1
                    $0.lastError = "response not published: \(error)"
                }
            }
            log += lines.map { line in
                var line = line
                if let outcome = line.outcome, !published { line.outcome = "\(outcome)-unpublished" }
                return line
            }
        case .drop(let lines):
            log += lines
        case .run(let admitted, let lines):
            log += lines
            let result = runner.run(admitted.command)
            if let applied = result.applied { settings = CommandSettings(applied) }
            act(dispatcher.complete(admitted, outcome: result.outcome, at: now, settings: settings))
        }
    }

    /// Writes the summary of every refusal held back so far into the log.
    func flushRefusalLog() {
        if let summary = dispatcher.refusalSummary() {
            log.append(DecisionLogLine(level: .warning, message: summary))
        }
    }

    /// Every response published so far, decoded.
    func responses() throws -> [CommandResponse] {
        try publisher.messages.map { try FleetJSON.decode(CommandResponse.self, from: $0.payload) }
    }

    func lastResponse() throws -> CommandResponse? {
        try responses().last
    }
}
