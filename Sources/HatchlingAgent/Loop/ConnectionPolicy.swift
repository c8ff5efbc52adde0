import FleetProtocol
import HatchlingSystem
import Logging
import MosquittoClient

/// The connection's policy: which broker next, with which protocol, how long to wait, what to do
/// on connect; and what the history of attempts says (a twin, a broker that drops the
/// subscription). Logs once per change, not once per attempt. The event loop owns it and calls it
/// with each CONNACK and each ending.
struct ConnectionPolicy {
    let context: AgentContext
    let logger: Logger
    var backoff: ReconnectBackoff
    private var brokerIndex = 0
    private var connectedSince: Double? = nil
    /// Since when the broker has been out of reach: the loss of a connection that held (10 s), or the
    /// first failure. A connection dropped soon after it was accepted does not start the count again,
    /// so a broker that keeps dropping its clients still sees the waits grow toward the cap.
    private var unreachableSince: Double? = nil
    private var lastProblem: String? = nil
    private var retryAtOnce = false
    private var refusedByBroker = false
    private var takeovers = TakeoverDetector()
    private var pingPong = false
    /// Whether the broker acknowledged this connection's subscription (a loss before it is the
    /// broker's doing, not another client's).
    private var subscriptionAcknowledged = false
    private var droppedAtSubscription = false
    /// Brokers of the list that failed in a row since the last wait.
    private var failedInRound = 0
    private var dropAtSubscriptionLogged = false
    private var negotiator: ProtocolNegotiator

    init(context: AgentContext, logger: Logger, backoff: ReconnectBackoff) {
        self.context = context
        self.logger = logger
        self.backoff = backoff
        self.negotiator = ProtocolNegotiator(choice: context.configuration.protocolChoice)
    }

    private var configuration: AgentConfiguration { context.configuration }
    private var broker: MQTTEndpoint { configuration.brokers[brokerIndex % configuration.brokers.count] }

    /// The broker to try next, and the protocol version to speak to it.
    func nextAttempt() -> (MQTTEndpoint, MQTTProtocolVersion) {
        (broker, negotiator.version(for: broker))
    }

    /// Handles the broker's answer to CONNECT; when it accepted, subscribes and announces `online`
    /// on `connection`, and returns true.
    mutating func handle(_ ack: MQTTConnAck, on connection: MQTTConnection) -> Bool {
        guard ack.accepted else {
            if let fallback = negotiator.refused(broker, ack) {
                noteFallback(fallback)
            } else {
                refusedByBroker = true
                report(problem: "broker refused the connection: \(ack.reason)", level: .error)
                context.counters.update { $0.lastError = "broker refused the connection: \(ack.reason)" }
            }
            return false
        }
        negotiator.accepted(broker, version: ack.protocolVersion)
        connectedSince = Monotonic.seconds()
        subscriptionAcknowledged = false
        failedInRound = 0
        lastProblem = nil
        context.setConnection(connected: true, protocolVersion: ack.protocolVersion)
        context.counters.update {
            $0.connects += 1
            $0.lastSessionPresent = ack.sessionPresent
            if ack.sessionPresent { $0.sessionsResumed += 1 }
        }
        logger.info(
            "connected",
            metadata: [
                "mqtt.broker": "\(broker)", "mqtt.protocol": "\(ack.protocolVersion)", "mqtt.session_present": "\(ack.sessionPresent)",
                "mqtt.client_id": "\(configuration.clientID)",
            ])
        let topics = configuration.topics
        do {
            try connection.subscribe(topics.subscriptions, qos: 1)
            let online = StatusPayload.online(
                bootId: context.bootId, at: .now(), agentVersion: AgentContext.agentVersion,
                heartbeatIntervalS: configuration.heartbeatInterval)
            try connection.publish(OutboundMessage(topic: topics.status, payload: FleetJSON.encode(online), qos: 1, retain: true))
        } catch {
            logger.error("could not subscribe or announce online", metadata: ["error": "\(error)"])
            context.counters.update { $0.lastError = "could not subscribe or announce online: \(error)" }
        }
        return true
    }

    /// The broker acknowledged the subscription made on connect.
    mutating func subscribed() {
        subscriptionAcknowledged = true
        dropAtSubscriptionLogged = false
    }

    /// Records the end of a connection or attempt (made with `version`); returns how long to wait
    /// before the next one.
    mutating func handle(_ ending: MQTTDisconnect, version: MQTTProtocolVersion) -> Double {
        context.setConnection(connected: false, protocolVersion: version)
        if let fallback = negotiator.ended(broker, ending, version: version) { noteFallback(fallback) }
        let now = Monotonic.seconds()
        let held = connectedSince != nil
        if let since = connectedSince {
            connectedSince = nil
            let lived = now - since
            logger.warning(
                "disconnected", metadata: ["mqtt.broker": "\(broker)", "reason": "\(ending.reason)", "mqtt.code": "\(ending.cause.rawCode)"])
            context.counters.update { $0.lastError = "disconnected: \(ending.reason)" }
            if lived >= AgentRuntime.stableConnectionSeconds {
                backoff.reset()
                unreachableSince = now
            }
            // A twin reconnects within the cap: a connection that outlived that ends the episode.
            if lived > backoff.cap + AgentRuntime.stableConnectionSeconds {
                takeovers.reset()
                pingPong = false
            }
            let loss = TakeoverDetector.classify(
                cause: ending.cause, requested: ending.requested, subscriptionAcknowledged: subscriptionAcknowledged)
            if loss == .droppedAtSubscription {
                // Not a twin: no ping-pong back-off; the next broker of the list is tried first.
                let message =
                    "broker \(broker) accepted the connection and then dropped it at the subscription, before acknowledging it: "
                    + "it cannot serve this session (in a RabbitMQ cluster: the session's queue is on a node that is down, "
                    + "see docs/scaling.md; or its authorisation refuses the subscription). Not another client with this id"
                // Once per episode (until a subscription is acknowledged): the CONNACK in between
                // would let `report` say it again on every attempt.
                if !dropAtSubscriptionLogged {
                    dropAtSubscriptionLogged = true
                    logger.error("\(message); trying the next broker of MQTT_HOST, with backoff", metadata: ["mqtt.broker": "\(broker)"])
                }
                context.counters.update { $0.lastError = "broker dropped the connection at the subscription" }
                droppedAtSubscription = true
            } else if takeovers.record(cause: ending.cause, requested: ending.requested, at: now), !pingPong {
                pingPong = true
                let message =
                    (loss == .takenOver
                        ? "client id \(configuration.clientID) is in use by another connection: the broker says another client took the session "
                        : "client id \(configuration.clientID) is in use by another connection: the broker keeps dropping this one "
                            + "after accepting it and acknowledging its subscription")
                    + " (two agents with the same HATCHLING_NAME or MQTT_CLIENT_ID?); backing off to MQTT_RECONNECT_MAX"
                logger.error("\(message)", metadata: ["mqtt.client_id": "\(configuration.clientID)"])
                context.counters.update { $0.lastError = message }
            }
        } else {
            // The broker could not be reached at all: a broker restart, not another client taking the
            // session (twins always find the broker up). Three restarts in a minute were taken for a
            // client-id fight and sent the agent to the cap (docs/benchmarks.md).
            takeovers.reset()
            pingPong = false
            if !retryAtOnce && !refusedByBroker {
                report(problem: "cannot connect to \(broker): \(ending.reason)", level: .warning)
            }
        }
        refusedByBroker = false
        subscriptionAcknowledged = false
        if retryAtOnce {
            retryAtOnce = false
            return 0
        }
        // After a failed attempt the next broker of the list is tried; after a connection that
        // held, the same broker first.
        if !held || droppedAtSubscription { brokerIndex += 1 }
        droppedAtSubscription = false
        // With a list, the backoff is per round: a broker that could not be reached sends the
        // agent on to the next one at once, and it waits only once every broker of the list has
        // failed in turn. (A RabbitMQ node's death cost 0.2-0.9 s of waiting before the refused
        // attempt was followed by another wait; docs/scaling.md.)
        if !held && configuration.brokers.count > 1 && failedInRound + 1 < configuration.brokers.count {
            failedInRound += 1
            logger.debug("trying the next broker of MQTT_HOST at once", metadata: ["mqtt.broker": "\(self.broker)"])
            return 0
        }
        failedInRound = 0
        let ceiling = backoff.ceiling
        // While two clients fight over the id, wait near the cap: it stops the ping-pong.
        if unreachableSince == nil { unreachableSince = now }
        let outage = now - (unreachableSince ?? now)
        let wait = pingPong ? Double.random(in: backoff.cap / 2...backoff.cap) : backoff.next(outage: outage)
        logger.debug(
            "waiting before the next attempt",
            metadata: [
                "retry_in_s": "\(round2(wait))", "backoff.ceiling_s": "\(pingPong ? backoff.cap : ceiling)",
                "outage_s": "\(round2(outage))",
            ])
        return wait
    }

    /// Logs a fall back to 3.1.1 (once per broker) and retries at once.
    private mutating func noteFallback(_ fallback: ProtocolNegotiator.Fallback) {
        retryAtOnce = true
        let level: Logger.Level = fallback.firstTime ? .warning : .debug
        logger.log(
            level: level, "broker \(broker) \(fallback.reason): using MQTT 3.1.1 with it from now on (MQTT_PROTOCOL=auto)",
            metadata: ["mqtt.broker": "\(broker)"])
    }

    private mutating func report(problem: String, level: Logger.Level) {
        guard problem != lastProblem else { return }
        lastProblem = problem
        logger.log(level: level, "\(problem); retrying with backoff", metadata: ["mqtt.backoff_cap_s": "\(backoff.cap)"])
    }

    /// Publishes `offline`/`shutdown`; returns its message id, or nil when not connected.
    func announceShutdown(on connection: MQTTConnection) -> Int32? {
        guard context.connection.connected else { return nil }
        do {
            let payload = FleetJSON.encode(StatusPayload.shutdown(bootId: context.bootId, at: .now()))
            return try connection.publish(OutboundMessage(topic: configuration.topics.status, payload: payload, qos: 1, retain: true))
        } catch {
            logger.warning("shutdown status not published", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
