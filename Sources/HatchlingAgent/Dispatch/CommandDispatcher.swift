import FleetProtocol
import FleetSigning
import Logging
import MosquittoClient

/// Runs one of the four commands. The production implementation is `AgentCommandHandlers`.
public protocol CommandHandling: Sendable {
    func run(_ command: FleetCommand) async -> CommandOutcome
}

/// Turns each command message into exactly one response on the agent's own response topic.
///
/// In order: size, UTF-8 and form (`CommandParser`); a recently seen id gets its earlier response
/// again; the rate limit; `expires_at`; then the command. Error responses have their own, lower
/// cap, so that a flood of bad commands cannot make the agent flood the bus.
public actor CommandDispatcher {
    private let topics: FleetTopics
    private let publisher: any BusPublisher
    private let handlers: any CommandHandling
    private let counters: CounterStore
    private let logger: Logger
    private let wallClock: @Sendable () -> FleetTimestamp
    private let monotonic: @Sendable () -> Double
    private var commandLimit: TokenBucket
    private var errorLimit: TokenBucket
    private var recent = RecentResponses()
    /// When set, only commands signed with this key run (PROTOCOL.md, signed commands).
    private var commandKey: CommandKey?

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
        self.commandLimit = TokenBucket(rate: rateLimit, burst: rateBurst)
        self.commandKey = commandKey
        self.errorLimit = TokenBucket(
            rate: rateLimit == 0 ? 0 : CommandDispatcher.errorResponseRate, burst: CommandDispatcher.errorResponseBurst)
    }

    /// Applies new limits from a reload.
    public func setRateLimit(_ rate: Double, burst: Int) {
        commandLimit.reconfigure(rate: rate, burst: burst)
        errorLimit.reconfigure(rate: rate == 0 ? 0 : CommandDispatcher.errorResponseRate, burst: CommandDispatcher.errorResponseBurst)
    }

    /// Applies a new (or no) command key from a reload.
    public func setCommandKey(_ key: CommandKey?) {
        commandKey = key
    }

    /// Handles one message from the command or broadcast topic. Never throws: every failure is
    /// either a response or a counted drop.
    public func handle(_ message: MQTTMessage) async {
        let started = monotonic()
        let parsed = CommandParser.parse(message.payload)
        let request = try? parsed.get()
        let id = request?.id ?? parsed.rejection?.id
        logger.debug("command received", metadata: ["command.id": "\(id ?? "-")", "mqtt.topic": "\(message.topic)"])

        // With a key, the signature is checked before anything else is looked up, so that an
        // unsigned request cannot even fetch an earlier response by its id.
        let unauthorized = commandKey.flatMap { key in Self.authorizationFailure(parsed, payload: message.payload, name: topics.name, key: key, now: wallClock()) }

        if unauthorized == nil, let id, let earlier = recent.response(for: id, now: started) {
            counters.update { $0.duplicates += 1 }
            logger.info("duplicate command answered again", metadata: ["command.id": "\(id)", "mqtt.topic": "\(message.topic)"])
            send(earlier, correlation: message.correlationData, isError: false, id: id)
            return
        }

        let outcome: CommandOutcome
        let word: String?
        if !commandLimit.take(now: started) {
            outcome = .failure(FleetErrorBody(code: .rateLimited, message: "more than the allowed commands per second; try again later"))
            word = request?.command.rawValue ?? parsed.rejection?.commandWord
        } else {
            switch parsed {
            case _ where unauthorized != nil:
                outcome = .failure(FleetErrorBody(code: .unauthorized, message: unauthorized!.description))
                word = request?.command.rawValue ?? parsed.rejection?.commandWord
            case .failure(let rejection):
                outcome = .failure(FleetErrorBody(code: rejection.code, message: rejection.message))
                word = rejection.commandWord
            case .success(let request):
                word = request.command.rawValue
                if let expiresAt = request.expiresAt, expiresAt < wallClock() {
                    counters.update { $0.expired += 1 }
                    outcome = .failure(FleetErrorBody(code: .expired, message: "the command expired at \(expiresAt) before it was delivered"))
                } else {
                    outcome = await handlers.run(request.command)
                }
            }
        }

        let duration = monotonic() - started
        let response = CommandResponse(
            id: id, hatchling: topics.name, command: word, ts: wallClock(),
            durationMs: Int((duration * 1000).rounded()), outcome: outcome)
        let outcomeName = response.error?.code.rawValue ?? "ok"
        counters.countCommand(outcomeName)
        logger.info(
            "command handled",
            metadata: [
                "command.id": "\(id ?? "-")", "command.name": "\(word ?? "-")", "command.outcome": "\(outcomeName)",
                "command.duration_ms": "\(response.durationMs)", "mqtt.topic": "\(message.topic)",
            ])
        let payload: [UInt8]
        do {
            payload = try FleetJSON.encode(response)
        } catch {
            counters.update {
                $0.dropped += 1
                $0.lastError = "could not encode a response"
            }
            logger.error("could not encode a response", metadata: ["command.id": "\(id ?? "-")"])
            return
        }
        // Only answers are remembered: a rate-limited or expired id may be sent again and run.
        if let id, response.ok || response.error?.code == .reloadFailed {
            recent.remember(payload, for: id, now: started)
        }
        send(payload, correlation: message.correlationData, isError: !response.ok, id: id)
    }

    private func send(_ payload: [UInt8], correlation: [UInt8]?, isError: Bool, id: String?) {
        if isError, !errorLimit.take(now: monotonic()) {
            counters.update { $0.dropped += 1 }
            logger.debug("error response not sent: error responses are over their cap", metadata: ["command.id": "\(id ?? "-")"])
            return
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
        }
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
