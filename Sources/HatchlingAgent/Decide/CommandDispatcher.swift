import FleetProtocol
import FleetSigning
import HatchlingSystem
import Logging
import MosquittoClient

/// The settings a decision depends on: a snapshot of the configuration in force, handed in with
/// every message. A reload changes what the event loop hands in; nothing is applied behind its back.
public struct CommandSettings: Sendable {
    public var topics: FleetTopics
    public var rateLimit: Double
    public var rateBurst: Int
    /// When set, only commands signed with this key run (docs/protocol.md, Signed commands).
    public var commandKey: CommandKey?
    /// Whether each message gets a "command received" line (LOG_LEVEL=debug or trace); off, the
    /// line is not even built.
    public var logsReceived: Bool

    public init(topics: FleetTopics, rateLimit: Double, rateBurst: Int, commandKey: CommandKey? = nil, logsReceived: Bool = false) {
        self.topics = topics
        self.rateLimit = rateLimit
        self.rateBurst = rateBurst
        self.commandKey = commandKey
        self.logsReceived = logsReceived
    }

    public init(_ configuration: AgentConfiguration) {
        self.init(
            topics: configuration.topics, rateLimit: configuration.commandRateLimit, rateBurst: configuration.commandRateBurst,
            commandKey: configuration.commandKey, logsReceived: configuration.logLevel <= .debug)
    }
}

/// The two clocks of a decision: wall time for `expires_at` and signatures, monotonic for rates,
/// durations and the duplicate window.
public struct CommandClock: Sendable {
    public var wall: FleetTimestamp
    public var monotonic: Double

    public init(wall: FleetTimestamp, monotonic: Double) {
        self.wall = wall
        self.monotonic = monotonic
    }

    public static func now() -> CommandClock { CommandClock(wall: .now(), monotonic: Monotonic.seconds()) }
}

/// A command that passed every check (size, form, signature, duplicate, rate limit, expiry) and
/// is to run.
public struct AdmittedCommand: Sendable {
    public let message: MQTTMessage
    public let command: FleetCommand
    let id: String?
    let started: Double
}

/// A line to log once the answer it is about is on its way (on the loop's thread, writing it
/// first would hold the answer back: about a tenth of a round trip). Its fields are kept as they
/// are and turned into log metadata only when written, after the answer.
public struct DecisionLogLine: Sendable, Equatable {
    public var level: Logger.Level
    public var message: String
    /// `command.id`, `command.name`, `command.duration_ms`, `mqtt.topic`, when the line has them.
    public var id: String?
    public var command: String?
    public var durationMs: Int?
    public var topic: String?
    /// For "command handled": the outcome, which gets "-unpublished" when the answer did not go out.
    public var outcome: String?

    public init(
        level: Logger.Level, message: String, id: String? = nil, command: String? = nil, durationMs: Int? = nil, topic: String? = nil,
        outcome: String? = nil
    ) {
        self.level = level
        self.message = message
        self.id = id
        self.command = command
        self.durationMs = durationMs
        self.topic = topic
        self.outcome = outcome
    }

    /// The line's metadata, as it is written.
    public func metadata(published: Bool = true) -> Logger.Metadata {
        var metadata = Logger.Metadata(minimumCapacity: 5)
        if let id { metadata["command.id"] = .string(id) }
        if let command { metadata["command.name"] = .string(command) }
        if let durationMs { metadata["command.duration_ms"] = .string(String(durationMs)) }
        if let topic { metadata["mqtt.topic"] = .string(topic) }
        if let outcome { metadata["command.outcome"] = .string(published ? outcome : "\(outcome)-unpublished") }
        return metadata
    }

    /// The same fields, as text, sorted by key (the order `AgentLogHandler` writes metadata in).
    public func sortedFields(published: Bool = true) -> [(String, String)] {
        var fields: [(String, String)] = []
        fields.reserveCapacity(5)
        if let durationMs { fields.append(("command.duration_ms", String(durationMs))) }
        if let id { fields.append(("command.id", id)) }
        if let command { fields.append(("command.name", command)) }
        if let outcome { fields.append(("command.outcome", published ? outcome : "\(outcome)-unpublished")) }
        if let topic { fields.append(("mqtt.topic", topic)) }
        return fields
    }

    /// Logs the line; straight to the agent's own handler when that is the logger's (and it
    /// carries no metadata of its own), through swift-log otherwise.
    public func write(to logger: Logger, published: Bool = true) {
        if let handler = logger.handler as? AgentLogHandler, handler.metadata.isEmpty {
            handler.write(level: level, message: message, sortedFields: sortedFields(published: published))
        } else {
            logger.log(level: level, "\(message)", metadata: metadata(published: published))
        }
    }
}

/// What to do with a command message: the whole of the dispatcher's answer.
public enum CommandAction: Sendable {
    /// Publish `message` on the response topic now: a refusal, an earlier answer sent again, or
    /// the answer of a command that ran. Then log `log`.
    case reply(OutboundMessage, log: [DecisionLogLine])
    /// Every check passed: run the command (the runtime chooses where), then `complete` it.
    case run(AdmittedCommand, log: [DecisionLogLine])
    /// Send nothing (an error response over its cap); counted already.
    case drop(log: [DecisionLogLine])

    /// The lines to log with this action.
    public var log: [DecisionLogLine] {
        switch self {
        case .reply(_, let log), .run(_, let log), .drop(let log): log
        }
    }
}

/// Decides, for each command message, what to do: a function of the message, the time and the
/// settings in force (and of what it has seen: the rate limits, recent answers, the refusal log).
/// It sends nothing and runs nothing; the event loop acts on its answer.
///
/// In order: size, UTF-8 and form (`CommandParser`); with a command key, the signature; a recently
/// seen id gets its earlier response again; the rate limit; `expires_at`; then the command runs.
/// Error responses have their own, lower cap, so that a flood of bad commands cannot make the
/// agent flood the bus. Owned by one thread (the event loop's): no lock.
public struct CommandDispatcher {
    private let counters: CounterStore
    private var commandLimit: TokenBucket
    private var errorLimit: TokenBucket
    private var limits: (rate: Double, burst: Int)
    private var recent = RecentResponses()
    /// Ids of admitted commands not answered yet: a copy that comes meanwhile (a QoS 1
    /// redelivery, a replay) must not run a second time; the first one's answer will follow.
    private var running: Set<String> = []
    /// Refusals logged at a bounded rate: a flood writes summary lines, not a line per command.
    private var refusalLog = RefusalLog()

    /// Error responses allowed per second beyond the command rate (a flood gets this many answers).
    public static let errorResponseRate = 5.0
    public static let errorResponseBurst = 10

    public init(settings: CommandSettings, counters: CounterStore) {
        self.counters = counters
        limits = (settings.rateLimit, settings.rateBurst)
        commandLimit = TokenBucket(rate: settings.rateLimit, burst: settings.rateBurst)
        errorLimit = TokenBucket(rate: Self.errorRate(for: settings.rateLimit), burst: Self.errorResponseBurst)
    }

    static func errorRate(for rateLimit: Double) -> Double { rateLimit == 0 ? 0 : errorResponseRate }

    /// Follows the limits of `settings` (a reload changed them).
    private mutating func follow(_ settings: CommandSettings) {
        guard settings.rateLimit != limits.rate || settings.rateBurst != limits.burst else { return }
        limits = (settings.rateLimit, settings.rateBurst)
        commandLimit.reconfigure(rate: settings.rateLimit, burst: settings.rateBurst)
        errorLimit.reconfigure(rate: Self.errorRate(for: settings.rateLimit), burst: Self.errorResponseBurst)
    }

    /// What to do with a message from the command or broadcast topic. `shuttingDown`: a command
    /// that would run is refused instead (copies of running or answered ids are treated as always).
    public mutating func decide(
        _ message: MQTTMessage, at now: CommandClock, settings: CommandSettings, shuttingDown: Bool = false
    ) -> CommandAction {
        follow(settings)
        let parsed = CommandParser.parse(message.payload)
        let request = try? parsed.get()
        let id = request?.id ?? parsed.rejection?.id
        let word = request?.command.rawValue ?? parsed.rejection?.commandWord
        var log: [DecisionLogLine] = []
        if settings.logsReceived {
            log.append(
                DecisionLogLine(level: .debug, message: "command received", id: id ?? "-", topic: message.topic))
        }
        // With a key, the signature is checked before anything else is looked up, so that an
        // unsigned request cannot even fetch an earlier response by its id.
        let unauthorized = settings.commandKey.flatMap { key in
            Self.authorizationFailure(parsed, payload: message.payload, name: settings.topics.name, key: key, now: now.wall)
        }
        if unauthorized == nil, let id, running.contains(id) {
            counters.update { $0.duplicates += 1 }
            if mayLog("duplicate", now: now.monotonic, &log) {
                log.append(
                    DecisionLogLine(
                        level: .info, message: "duplicate of a command still running: its answer will follow", id: id, topic: message.topic))
            }
            return .drop(log: log)
        }
        if unauthorized == nil, let id, let earlier = recent.response(for: id, now: now.monotonic) {
            counters.update { $0.duplicates += 1 }
            if mayLog("duplicate", now: now.monotonic, &log) {
                log.append(
                    DecisionLogLine(level: .info, message: "duplicate command answered again", id: id, topic: message.topic))
            }
            return reply(earlier, to: message, topic: settings.topics.response, isError: false, id: id, at: now, log: log)
        }
        let refusal: FleetErrorBody?
        if shuttingDown {
            refusal = Self.shuttingDownBody
        } else if !commandLimit.take(now: now.monotonic) {
            refusal = FleetErrorBody(code: .rateLimited, message: "more than the allowed commands per second; try again later")
        } else if let unauthorized {
            refusal = FleetErrorBody(code: .unauthorized, message: unauthorized.description)
        } else {
            switch parsed {
            case .failure(let rejection):
                refusal = FleetErrorBody(code: rejection.code, message: rejection.message)
            case .success(let request):
                if let expiresAt = request.expiresAt, expiresAt < now.wall {
                    counters.update { $0.expired += 1 }
                    refusal = FleetErrorBody(code: .expired, message: "the command expired at \(expiresAt) before it was delivered")
                } else {
                    refusal = nil
                }
            }
        }
        if let refusal {
            return answer(
                message, id: id, word: word, outcome: .failure(refusal), started: now.monotonic, at: now, settings: settings, log: log)
        }
        // Only a parsed request gets here (a rejection is a refusal above).
        let command = request!.command
        if let id { running.insert(id) }
        return .run(AdmittedCommand(message: message, command: command, id: id, started: now.monotonic), log: log)
    }

    /// The answer to a command that ran, with its outcome.
    public mutating func complete(
        _ admitted: AdmittedCommand, outcome: CommandOutcome, at now: CommandClock, settings: CommandSettings
    ) -> CommandAction {
        if let id = admitted.id { running.remove(id) }
        return answer(
            admitted.message, id: admitted.id, word: admitted.command.rawValue, outcome: outcome, started: admitted.started,
            at: now, settings: settings)
    }

    /// The answer to an admitted command that cannot wait: the commands before it fill the queue.
    public mutating func refuseBusy(_ admitted: AdmittedCommand, at now: CommandClock, settings: CommandSettings) -> CommandAction {
        let body = FleetErrorBody(code: .rateLimited, message: "too many commands are waiting to run; try again later")
        return complete(admitted, outcome: .failure(body), at: now, settings: settings)
    }

    /// Why a command is refused while the agent shuts down: it was acknowledged to the broker
    /// already, so the hub is told to send it again (to the next run) rather than left waiting.
    /// Not remembered: the same id may run then.
    static let shuttingDownBody = FleetErrorBody(
        code: .rateLimited, message: "the agent is shutting down; send the command again when it is back online")

    /// The answer to an admitted command that never ran: the shutdown's drain ended first.
    public mutating func refuseShuttingDown(_ admitted: AdmittedCommand, at now: CommandClock, settings: CommandSettings) -> CommandAction {
        complete(admitted, outcome: .failure(Self.shuttingDownBody), at: now, settings: settings)
    }

    /// The summary of refusals held back in a window that has ended, if any (the loop's timer asks).
    public mutating func refusalSummaryIfDue(now: Double) -> String? {
        refusalLog.flushIfDue(now: now).map { RefusalLog.summaryLine($0) }
    }

    /// The summary of every refusal held back so far, if any.
    public mutating func refusalSummary() -> String? {
        refusalLog.flush().map { RefusalLog.summaryLine($0) }
    }

    /// Builds, counts and remembers the response, and says how to send it.
    private mutating func answer(
        _ message: MQTTMessage, id: String?, word: String?, outcome: CommandOutcome, started: Double, at now: CommandClock,
        settings: CommandSettings, log: [DecisionLogLine] = []
    ) -> CommandAction {
        let response = CommandResponse(
            id: id, hatchling: settings.topics.name, command: word, ts: now.wall,
            durationMs: Int(((now.monotonic - started) * 1000).rounded()), outcome: outcome)
        let outcomeName = response.error?.code.rawValue ?? "ok"
        counters.countCommand(outcomeName)
        let payload = FleetJSON.encode(response)
        // Only answers are remembered: a rate-limited or expired id may be sent again and run.
        if let id, response.ok || response.error?.code == .reloadFailed {
            recent.remember(payload, for: id, now: started)
        }
        var log = log
        if response.ok || mayLog(outcomeName, now: now.monotonic, &log) {
            log.append(
                DecisionLogLine(
                    level: .info, message: "command handled", id: id ?? "-", command: word ?? "-", durationMs: response.durationMs,
                    topic: message.topic, outcome: outcomeName))
        }
        return reply(payload, to: message, topic: settings.topics.response, isError: !response.ok, id: id, at: now, log: log)
    }

    /// The response as a message on the agent's own response topic (set by its name, never by the
    /// message), or nothing when it is an error over the error cap.
    private mutating func reply(
        _ payload: [UInt8], to message: MQTTMessage, topic: String, isError: Bool, id: String?, at now: CommandClock, log: [DecisionLogLine]
    ) -> CommandAction {
        if isError, !errorLimit.take(now: now.monotonic) {
            counters.update { $0.dropped += 1 }
            // Never "ok" for an answer that did not go out.
            return .drop(
                log: log.map { line in
                    var line = line
                    line.outcome = line.outcome.map { "\($0)-unpublished" }
                    return line
                } + [
                    DecisionLogLine(level: .debug, message: "error response not sent: error responses are over their cap", id: id ?? "-")
                ])
        }
        let outbound = OutboundMessage(
            topic: topic, payload: payload, qos: 1, retain: false,
            properties: MQTTPublishProperties(correlationData: message.correlationData))
        return .reply(outbound, log: log)
    }

    /// Whether this refusal gets a line of its own; appends the summary of a window that ended to `log`.
    private mutating func mayLog(_ code: String, now: Double, _ log: inout [DecisionLogLine]) -> Bool {
        let decision = refusalLog.record(code: code, now: now)
        if let summary = decision.summary {
            log.append(DecisionLogLine(level: .warning, message: RefusalLog.summaryLine(summary)))
        }
        return decision.logIt
    }
}

extension CommandDispatcher {
    /// Why a request may not run under a command key; nil when it may.
    static func authorizationFailure(
        _ parsed: Result<CommandRequest, CommandRejection>, payload: [UInt8], name: HatchlingName, key: CommandKey, now: FleetTimestamp
    ) -> CommandSignature.Failure? {
        switch parsed {
        case .success(let request):
            return CommandSignature.verify(request, name: name.rawValue, key: key, now: now)
        case .failure(let rejection):
            // A plain-text word is refused as unsigned, even an unknown one; other rejections
            // (too large, not UTF-8, malformed JSON) keep their own codes: nothing runs either way.
            let firstByte = payload.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }
            return rejection.code == .unknownCommand && firstByte != UInt8(ascii: "{") ? .notJSON : nil
        }
    }
}

extension Result where Failure == CommandRejection {
    var rejection: CommandRejection? {
        if case .failure(let rejection) = self { return rejection }
        return nil
    }
}
