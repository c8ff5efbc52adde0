import FleetProtocol
import HatchlingSystem
import Logging
import MosquittoClient
import Synchronization

/// Answers the local socket's requests inside the running agent: `health` from the connection's
/// state, `publish` by checking the event (`EventGate`), publishing it on `<root>/<name>/event` (QoS
/// 1, not retained) through the event loop, and answering once the broker's PUBACK comes back to it.
final class LocalService: Sendable {
    /// Hands an event to the event loop, which publishes it and calls `done` with the PUBACK's
    /// reason code (or why it could not publish).
    typealias Send = @Sendable (OutboundMessage, _ done: @escaping @Sendable (Result<MQTTReasonCode, LocalPublishError>) -> Void) -> Void
    private let context: AgentContext
    private let send: Send
    private let topic: String
    private let logger: Logger
    private let gate: Mutex<EventGate>
    private let refusals = Mutex(RefusalLog())
    private let server = Mutex<LocalSocketServer?>(nil)

    init(context: AgentContext, send: @escaping Send, topic: String, logger: Logger) {
        self.context = context
        self.send = send
        self.topic = topic
        self.logger = logger
        gate = Mutex(EventGate(perMinute: context.configuration.eventRateLimit))
    }

    /// Opens the socket. The agent runs on without it (logged): the bus matters more than `publish`.
    func start(path: String) {
        do {
            let started = try LocalSocketServer(path: path) { [self] request, peer, answer in
                handle(request, peer: peer, answer: answer)
            }
            server.withLock { $0 = started }
            logger.info("local socket open", metadata: ["socket": "\(path)"])
        } catch {
            logger.warning(
                "local socket not open: hatchling-agent publish and health will not reach this agent",
                metadata: ["socket": "\(path)", "error": "\(error)"])
        }
    }

    func stop() {
        server.withLock { $0 }?.stop()
    }

    func handle(
        _ request: Result<LocalProtocol.Request, LocalProtocol.Failure>, peer: LocalSocketServer.Peer,
        answer: @escaping @Sendable (LocalProtocol.Answer) -> Void
    ) {
        switch request {
        case .failure(let failure):
            refuse(failure, event: nil, peer: peer, answer: answer)
        case .success(.health):
            let (name, interval) = context.configuration { ($0.name.rawValue, $0.heartbeatInterval) }
            answer(
                .health(
                    LocalProtocol.Health(
                        hatchling: name, connected: context.connection.connected, heartbeatAge: context.heartbeatAge,
                        heartbeatInterval: interval)))
        case .success(.publish(let event, let data)):
            publish(event: event, data: data, peer: peer, answer: answer)
        }
    }

    private func publish(event: String, data: [UInt8], peer: LocalSocketServer.Peer, answer: @escaping @Sendable (LocalProtocol.Answer) -> Void) {
        let (secrets, perMinute) = context.configuration { configuration in
            ([configuration.password.map { Array($0.utf8) } ?? [], configuration.commandKey?.bytes ?? []], configuration.eventRateLimit)
        }
        let connected = context.connection.connected
        let checked = gate.withLock {
            $0.check(event: event, data: data, secrets: secrets, connected: connected, perMinute: perMinute, now: Monotonic.seconds())
        }
        let published: [UInt8]
        switch checked {
        case .failure(let failure):
            refuse(failure, event: event, peer: peer, answer: answer)
            return
        case .success(let compacted):
            published = compacted
        }
        let seq = context.nextEventSeq()
        var writer = JSONWriter(capacity: 256 + published.count)
        EventPayload(event: event, data: published, ts: .now(), bootId: context.bootId, seq: seq).write(to: &writer)
        let payload = writer.bytes
        let (logger, topic) = (logger, topic)
        send(OutboundMessage(topic: topic, payload: payload, qos: 1, retain: false)) { [context] result in
            switch result {
            case .success(let reasonCode) where !reasonCode.isFailure:
                answer(.published(seq: seq))
                logger.info("event published", metadata: ["event": "\(event)", "event.seq": "\(seq)", "peer": "\(peer)"])
            case .success(let reasonCode):
                answer(.failed(.init(.brokerRefused, "the broker refused the event: \(reasonCode); check its ACL for \(topic)")))
                logger.error(
                    "broker refused an event (check its ACL)", metadata: ["event": "\(event)", "mqtt.reason_code": "\(reasonCode.rawValue)"])
            case .failure(let error):
                // Not on the bus: its number goes to the next event, so the hub sees no false gap.
                context.returnEventSeq(seq)
                answer(.failed(.init(.notConnected, "the event could not be queued: \(error)")))
            }
        }
    }

    private func refuse(_ failure: LocalProtocol.Failure, event: String?, peer: LocalSocketServer.Peer, answer: (LocalProtocol.Answer) -> Void) {
        answer(.failed(failure))
        // Logged without the data, and bounded: the other side of the socket may flood it.
        let decision = refusals.withLock { $0.record(code: failure.code.rawValue, now: Monotonic.seconds()) }
        if let summary = decision.summary { logSummary(summary) }
        guard decision.logIt else { return }
        var metadata: Logger.Metadata = ["code": "\(failure.code.rawValue)", "reason": "\(failure.message)", "peer": "\(peer)"]
        if let event, EventPayload.checkName(event) == nil { metadata["event"] = "\(event)" }
        logger.warning("local request refused", metadata: metadata)
    }

    /// Writes the summary of a flood of refusals whose window has ended (on the heartbeat's tick).
    func flushRefusalLogIfDue() {
        if let summary = refusals.withLock({ $0.flushIfDue(now: Monotonic.seconds()) }) { logSummary(summary) }
    }

    private func logSummary(_ counts: [String: Int]) {
        logger.warning("\(RefusalLog.summaryLine(counts, of: "local requests", countedIn: nil))")
    }
}
