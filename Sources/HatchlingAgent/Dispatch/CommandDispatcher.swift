import FleetProtocol
import FleetSigning
import Logging
import MosquittoClient
import Synchronization

/// Runs one of the four commands. The production implementation is `AgentCommandHandlers`.
public protocol CommandHandling: Sendable {
    func run(_ command: FleetCommand) async -> CommandOutcome
    /// Whether `runImmediately` can answer this command without waiting for I/O (a probe, a
    /// program). Such commands are answered on libmosquitto's thread, with no hop. No side effects.
    func canRunImmediately(_ command: FleetCommand) -> Bool
    /// Runs a command that `canRunImmediately` allowed; called only after every check passed.
    func runImmediately(_ command: FleetCommand) -> CommandOutcome?
}

extension CommandHandling {
    public func canRunImmediately(_ command: FleetCommand) -> Bool { false }
    public func runImmediately(_ command: FleetCommand) -> CommandOutcome? { nil }
}

/// Turns each command message into exactly one response on the agent's own response topic.
///
/// In order: size, UTF-8 and form (`CommandParser`); with a command key, the signature; a recently
/// seen id gets its earlier response again; the rate limit; `expires_at`; then the command. Error
/// responses have their own, lower cap, so that a flood of bad commands cannot make the agent flood
/// the bus.
///
/// A final class with a Mutex rather than an actor: `handleImmediately` runs on libmosquitto's
/// network thread, which must not wait for an actor.
public final class CommandDispatcher: Sendable {
    private let topics: FleetTopics
    private let publisher: any BusPublisher
    private let handlers: any CommandHandling
    private let counters: CounterStore
    private let logger: Logger
    private let wallClock: @Sendable () -> FleetTimestamp
    private let monotonic: @Sendable () -> Double
    private let state: Mutex<State>

    private struct State {
        var commandLimit: TokenBucket
        var errorLimit: TokenBucket
        var recent = RecentResponses()
        /// When set, only commands signed with this key run (docs/protocol.md, Signed commands).
        var commandKey: CommandKey?
        /// Refusals logged at a bounded rate: a flood writes summary lines, not a line per command.
        var refusalLog = RefusalLog()

        mutating func setRateLimit(_ rate: Double, burst: Int) {
            commandLimit.reconfigure(rate: rate, burst: burst)
            errorLimit.reconfigure(rate: CommandDispatcher.errorRate(for: rate), burst: CommandDispatcher.errorResponseBurst)
        }
    }

    /// Error responses allowed per second beyond the command rate (a flood gets this many answers).
    public static let errorResponseRate = 5.0
    public static let errorResponseBurst = 10

    public init(
        topics: FleetTopics, publisher: any BusPublisher, handlers: any CommandHandling, counters: CounterStore,
        rateLimit: Double, rateBurst: Int, commandKey: CommandKey? = nil, logger: Logger,
        wallClock: @escaping @Sendable () -> FleetTimestamp = { FleetTimestamp.now() },
        monotonic: @escaping @Sendable () -> Double = { Monotonic.seconds() }
    ) {
        self.topics = topics
        self.publisher = publisher
        self.handlers = handlers
        self.counters = counters
        self.logger = logger
        self.wallClock = wallClock
        self.monotonic = monotonic
        self.state = Mutex(
            State(
                commandLimit: TokenBucket(rate: rateLimit, burst: rateBurst),
                errorLimit: TokenBucket(rate: Self.errorRate(for: rateLimit), burst: Self.errorResponseBurst),
                commandKey: commandKey))
    }

    fileprivate static func errorRate(for rateLimit: Double) -> Double { rateLimit == 0 ? 0 : errorResponseRate }

    /// Applies new limits from a reload.
    public func setRateLimit(_ rate: Double, burst: Int) {
        state.withLock { $0.setRateLimit(rate, burst: burst) }
    }

    /// Applies a new (or no) command key from a reload.
    public func setCommandKey(_ key: CommandKey?) {
        state.withLock { $0.commandKey = key }
    }

    /// Applies the settings of a reload that the dispatcher holds: the limits and the key.
    /// Both at once, so that no command sees the new limit with the old key.
    public func apply(_ configuration: AgentConfiguration) {
        let (rate, burst, key) = (configuration.commandRateLimit, configuration.commandRateBurst, configuration.commandKey)
        state.withLock {
            $0.setRateLimit(rate, burst: burst)
            $0.commandKey = key
        }
    }

    /// A command that passed every check (size, form, signature, duplicate, rate limit, expiry)
    /// and waits to run: what the runtime's bounded queue holds.
    public struct Admitted: Sendable {
        public let message: MQTTMessage
        public let command: FleetCommand
        let id: String?
        let started: Double
    }

    /// What `admit` did with a message.
    public enum Admission: Sendable {
        /// Answered already (refused, a duplicate answered again, or run at once): nothing to queue.
        case answered
        /// Passed every check; `run` it (on the worker, in order).
        case queue(Admitted)
    }

    /// Checks a message from the command or broadcast topic at once, before anything is queued,
    /// and answers it on the calling thread when it is refused; with `mayRunNow`, a command that
    /// needs no I/O (`CommandHandling.canRunImmediately`) is run and answered at once too.
    /// A flood is thus refused as it arrives: only commands that may run wait in a queue.
    public func admit(_ message: MQTTMessage, mayRunNow: Bool, onNetworkThread: Bool = true) -> Admission {
        let started = monotonic()
        let parsed = CommandParser.parse(message.payload)
        switch prepare(message, parsed, started: started, onNetworkThread: onNetworkThread) {
        case .done:
            return .answered
        case .run(let command, let id):
            if mayRunNow, handlers.canRunImmediately(command), let outcome = handlers.runImmediately(command) {
                complete(message, id: id, word: command.rawValue, outcome: outcome, started: started, onNetworkThread: onNetworkThread)
                return .answered
            }
            return .queue(Admitted(message: message, command: command, id: id, started: started))
        }
    }

    /// Runs an admitted command and answers it.
    public func run(_ admitted: Admitted) async {
        let outcome = await handlers.run(admitted.command)
        complete(
            admitted.message, id: admitted.id, word: admitted.command.rawValue, outcome: outcome, started: admitted.started,
            onNetworkThread: false)
    }

    /// Answers an admitted command that cannot wait: the queue before it is full.
    public func refuseBusy(_ admitted: Admitted, onNetworkThread: Bool = true) {
        let body = FleetErrorBody(code: .rateLimited, message: "too many commands are waiting to run; try again later")
        complete(
            admitted.message, id: admitted.id, word: admitted.command.rawValue, outcome: .failure(body), started: admitted.started,
            onNetworkThread: onNetworkThread)
    }

    /// Handles one message from start to answer (tests, the fuzzer): `admit`, then `run`.
    public func handle(_ message: MQTTMessage) async {
        if case .queue(let admitted) = admit(message, mayRunNow: false, onNetworkThread: false) { await run(admitted) }
    }

    /// Handles the message at once when no step needs to wait (everything but a probe or a
    /// program); returns false, having changed nothing, when it must go through `handle`.
    public func handleImmediately(_ message: MQTTMessage) -> Bool {
        if case .success(let request) = CommandParser.parse(message.payload), !handlers.canRunImmediately(request.command) { return false }
        if case .queue(let admitted) = admit(message, mayRunNow: true) {
            // canRunImmediately said yes, but the handler could not: answer rather than drop.
            complete(
                message, id: admitted.id, word: admitted.command.rawValue,
                outcome: .failure(FleetErrorBody(code: .internal, message: "the command could not run at once; send it again")),
                started: admitted.started, onNetworkThread: true)
        }
        return true
    }

    private enum Step {
        case done
        case run(FleetCommand, id: String?)
    }

    /// Every check before the command runs; answers the request itself when one fails.
    private func prepare(
        _ message: MQTTMessage, _ parsed: Result<CommandRequest, CommandRejection>, started: Double, onNetworkThread: Bool
    ) -> Step {
        let request = try? parsed.get()
        let id = request?.id ?? parsed.rejection?.id
        logger.debug("command received", metadata: ["command.id": "\(id ?? "-")", "mqtt.topic": "\(message.topic)"])
        let now = wallClock()
        enum Decision {
            case resend([UInt8])
            case refuse(FleetErrorBody, word: String?)
            case run(FleetCommand)
        }
        let decision: Decision = state.withLock { s in
            // With a key, the signature is checked before anything else is looked up, so that an
            // unsigned request cannot even fetch an earlier response by its id.
            let unauthorized = s.commandKey.flatMap { key in
                Self.authorizationFailure(parsed, payload: message.payload, name: topics.name, key: key, now: now)
            }
            if unauthorized == nil, let id, let earlier = s.recent.response(for: id, now: started) {
                return .resend(earlier)
            }
            let word = request?.command.rawValue ?? parsed.rejection?.commandWord
            if !s.commandLimit.take(now: started) {
                return .refuse(FleetErrorBody(code: .rateLimited, message: "more than the allowed commands per second; try again later"), word: word)
            }
            if let unauthorized { return .refuse(FleetErrorBody(code: .unauthorized, message: unauthorized.description), word: word) }
            switch parsed {
            case .failure(let rejection):
                return .refuse(FleetErrorBody(code: rejection.code, message: rejection.message), word: word)
            case .success(let request):
                if let expiresAt = request.expiresAt, expiresAt < now {
                    return .refuse(FleetErrorBody(code: .expired, message: "the command expired at \(expiresAt) before it was delivered"), word: word)
                }
                return .run(request.command)
            }
        }
        switch decision {
        case .resend(let earlier):
            counters.update { $0.duplicates += 1 }
            if shouldLogRefusal("duplicate") {
                logger.info("duplicate command answered again", metadata: ["command.id": "\(id ?? "-")", "mqtt.topic": "\(message.topic)"])
            }
            send(earlier, correlation: message.correlationData, isError: false, id: id)
            return .done
        case .refuse(let body, let word):
            if body.code == .expired { counters.update { $0.expired += 1 } }
            complete(message, id: id, word: word, outcome: .failure(body), started: started, onNetworkThread: onNetworkThread)
            return .done
        case .run(let command):
            return .run(command, id: id)
        }
    }

    /// Builds, counts, logs, remembers and sends the response.
    private func complete(
        _ message: MQTTMessage, id: String?, word: String?, outcome: CommandOutcome, started: Double, onNetworkThread: Bool
    ) {
        let response = CommandResponse(
            id: id, hatchling: topics.name, command: word, ts: wallClock(),
            durationMs: Int(((monotonic() - started) * 1000).rounded()), outcome: outcome)
        let outcomeName = response.error?.code.rawValue ?? "ok"
        counters.countCommand(outcomeName)
        let payload = FleetJSON.encode(response)
        // Only answers are remembered: a rate-limited or expired id may be sent again and run.
        if let id, response.ok || response.error?.code == .reloadFailed {
            state.withLock { $0.recent.remember(payload, for: id, now: started) }
        }
        let published = send(payload, correlation: message.correlationData, isError: !response.ok, id: id)
        // The log line is written once the answer is on its way (on libmosquitto's thread, it
        // would otherwise hold the answer back: about a tenth of a round trip).
        if !response.ok, !shouldLogRefusal(outcomeName) { return }
        let (logger, topic, durationMs) = (logger, message.topic, response.durationMs)
        let log: @Sendable () -> Void = {
            logger.info(
                "command handled",
                metadata: [
                    "command.id": .string(id ?? "-"), "command.name": .string(word ?? "-"),
                    // Never "ok" for an answer that did not go out.
                    "command.outcome": .string(published ? outcomeName : "\(outcomeName)-unpublished"),
                    "command.duration_ms": .string(String(durationMs)), "mqtt.topic": .string(topic),
                ])
        }
        if onNetworkThread { publisher.afterPendingWrites(log) } else { log() }
    }

    /// Whether this refusal gets a log line of its own; writes the summary of a window that ended.
    /// The summary of the current window is written by the next refusal after it, or by
    /// `flushRefusalLogIfDue` on the agent's timer, whichever comes first. (No task is started
    /// per window: a task that outlives the dispatcher would hold it, and the fuzzer's leak check
    /// counts it.)
    private func shouldLogRefusal(_ code: String) -> Bool {
        let decision = state.withLock { $0.refusalLog.record(code: code, now: monotonic()) }
        if let summary = decision.summary { logger.warning("\(RefusalLog.summaryLine(summary))") }
        return decision.logIt
    }

    /// Writes the count of refusals held back in a window that has ended, if any; the agent calls
    /// it on its heartbeat timer.
    func flushRefusalLogIfDue() {
        if let summary = state.withLock({ $0.refusalLog.flushIfDue(now: monotonic()) }) {
            logger.warning("\(RefusalLog.summaryLine(summary))")
        }
    }

    /// Writes the count of refusals held back since the last summary, if any.
    func flushRefusalLog() {
        if let summary = state.withLock({ $0.refusalLog.flush() }) { logger.warning("\(RefusalLog.summaryLine(summary))") }
    }

    /// Publishes a response; false when it was not handed to the broker (over the error cap, or
    /// refused by the client library).
    @discardableResult
    private func send(_ payload: [UInt8], correlation: [UInt8]?, isError: Bool, id: String?) -> Bool {
        if isError, !state.withLock({ $0.errorLimit.take(now: monotonic()) }) {
            counters.update { $0.dropped += 1 }
            logger.debug("error response not sent: error responses are over their cap", metadata: ["command.id": "\(id ?? "-")"])
            return false
        }
        do {
            try publisher.publish(
                OutboundMessage(
                    topic: topics.response, payload: payload, qos: 1, retain: false,
                    properties: MQTTPublishProperties(correlationData: correlation)))
        } catch {
            counters.update {
                $0.dropped += 1
                $0.lastError = "response not published: \(error)"
            }
            logger.warning("response not published", metadata: ["command.id": "\(id ?? "-")", "error": "\(error)"])
            return false
        }
        return true
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
