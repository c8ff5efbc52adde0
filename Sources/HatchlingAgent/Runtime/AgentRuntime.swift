import FleetProtocol
import Logging
import MosquittoClient
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The running agent: one event loop that owns the connection's state, fed by the MQTT client,
/// signals, timers and reloads. Commands run on their own task, in arrival order, so a slow
/// `health-check` never delays a heartbeat or a reconnect.
public final class AgentRuntime: Sendable {
    public let context: AgentContext
    private let logger: Logger

    /// A connection that lasted this long resets the backoff.
    static let stableConnectionSeconds = 10.0
    /// How long shutdown waits for the command in flight, then for the broker's PUBACK of `shutdown`.
    static let commandDrainSeconds = 2.0
    static let shutdownAckSeconds = 1.5
    /// Commands that passed every check and wait for the worker (a health-check probe takes up to
    /// 2 s); more are refused as rate-limited at once.
    static let maximumQueuedCommands = 32
    /// The largest packet the broker may deliver (MQTT 5): a command at the 4096-byte cap with its
    /// topic and properties fits; anything far larger is dropped by the broker, never buffered here.
    static let maximumPacketSize: UInt32 = UInt32(CommandParser.maximumPayloadBytes) + 4096

    public init(context: AgentContext, logger: Logger) {
        self.context = context
        self.logger = logger
    }

    enum Event: Sendable {
        case mqtt(MQTTEvent)
        case mqttFinished
        case signal(Int32)
        case reconnectDue
        case reloaded(AgentConfiguration)
        case shutdownDeadline
    }

    /// The dispatcher for `context`, with its limits and key following every reload. They are
    /// applied inside the reload, before its answer goes out: a hub that tightens the limit and
    /// then floods must meet the new limit, not the old one.
    static func makeDispatcher(context: AgentContext, publisher: any BusPublisher, logger: Logger) -> CommandDispatcher {
        let configuration = context.configuration
        let dispatcher = CommandDispatcher(
            topics: configuration.topics, publisher: publisher, handlers: AgentCommandHandlers(context: context),
            counters: context.counters, rateLimit: configuration.commandRateLimit, rateBurst: configuration.commandRateBurst,
            commandKey: configuration.commandKey, logger: logger)
        // Weak: a strong capture would make a cycle (context → applier → dispatcher → handlers →
        // context), and no context made this way would ever be freed.
        context.applyOnReload { [weak dispatcher] in dispatcher?.apply($0) }
        return dispatcher
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status (0 after a clean shutdown).
    public func run() async throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let configuration = context.configuration
        let topics = configuration.topics
        let will = FleetJSON.encode(StatusPayload.lost(bootId: context.bootId))
        let client = try MQTTClient(
            options: MQTTClientOptions(
                clientID: configuration.clientID, protocolVersion: context.connection.protocolVersion, cleanSession: false,
                username: configuration.username, password: configuration.password, tls: configuration.tls,
                will: MQTTWill(topic: topics.status, payload: will, qos: 1, retain: true),
                connectTimeout: configuration.connectTimeout, maximumPacketSize: Self.maximumPacketSize))

        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        // Bounded twice: by `queued` below, and by the stream's own buffer.
        let (commandStream, commandSink) = AsyncStream.makeStream(
            of: CommandDispatcher.Admitted.self, bufferingPolicy: .bufferingOldest(Self.maximumQueuedCommands))
        let dispatcher = Self.makeDispatcher(context: context, publisher: client, logger: logger)

        let forwarder = Task {
            for await event in client.events { sink.yield(.mqtt(event)) }
            sink.yield(.mqttFinished)
        }
        let reloadForwarder = Task { [context] in
            for await applied in context.reloads { sink.yield(.reloaded(applied)) }
        }
        // Every command message is checked on libmosquitto's thread as it arrives (size, form,
        // signature, duplicate, rate, expiry) and refused there, so a flood never fills a queue.
        // One that passes is answered there too when it needs no I/O, the connection has been set
        // up and nothing is queued before it (order holds); the others wait for the worker task,
        // at most `maximumQueuedCommands` of them.
        let queued = Atomic<Int>(0)
        let shuttingDown = Atomic<Bool>(false)
        let admitAndQueue: @Sendable (_ message: MQTTMessage, _ mayRunNow: Bool, _ onNetworkThread: Bool) -> Void = {
            message, mayRunNow, onNetworkThread in
            guard case .queue(let admitted) = dispatcher.admit(message, mayRunNow: mayRunNow, onNetworkThread: onNetworkThread)
            else { return }
            guard queued.load(ordering: .acquiring) < Self.maximumQueuedCommands else {
                dispatcher.refuseBusy(admitted, onNetworkThread: onNetworkThread)
                return
            }
            queued.add(1, ordering: .releasing)
            if case .dropped = commandSink.yield(admitted) {
                queued.subtract(1, ordering: .releasing)
                dispatcher.refuseBusy(admitted, onNetworkThread: onNetworkThread)
            }
        }
        client.setMessageHandler { [context, topics] message in
            guard message.topic == topics.command || message.topic == topics.broadcast else { return false }
            if shuttingDown.load(ordering: .relaxed) { return true }
            // Until the event loop has set the connection up (counters, subscriptions), a command
            // (one queued in the session, delivered right after the CONNACK) goes the event loop's
            // way, behind the CONNACK.
            guard context.connection.connected else { return false }
            admitAndQueue(message, queued.load(ordering: .acquiring) == 0, true)
            return true
        }
        // Only refusals (failure reason codes, logged below) and, once stopping, the shutdown
        // status's acknowledgement are wanted; every other PUBACK would wake the event loop for nothing.
        // Events from the local socket (`hatchling-agent publish`) take their own acknowledgements.
        let local = LocalService(context: context, publisher: client, topic: topics.event, logger: logger)
        client.setPublishAckFilter { messageID, reasonCode in
            if local.acks.acknowledge(messageID, reasonCode: reasonCode) { return false }
            return reasonCode.isFailure || shuttingDown.load(ordering: .relaxed)
        }
        let commandWorker = Task {
            for await admitted in commandStream {
                await dispatcher.run(admitted)
                queued.subtract(1, ordering: .releasing)
            }
        }
        let signals = SignalWatcher(signals: [SIGTERM, SIGINT, SIGHUP]) { sink.yield(.signal($0)) }
        var timers = Timers(
            heartbeat: HeartbeatPublisher(client: client, context: context, topics: topics, logger: logger), context: context,
            stopping: { shuttingDown.load(ordering: .relaxed) },
            onTick: {
                dispatcher.flushRefusalLogIfDue()
                local.flushRefusalLogIfDue()
            })
        timers.start(interval: configuration.heartbeatInterval)
        local.start(path: configuration.agentSocket)
        defer {
            local.stop()
            signals.cancel()
            timers.cancel()
            forwarder.cancel()
            reloadForwarder.cancel()
            commandWorker.cancel()
            client.close()
        }

        var loop = ConnectionLoop(
            client: client, context: context, topics: topics, logger: logger,
            backoff: ReconnectBackoff(cap: configuration.reconnectMax))
        logger.info(
            "hatchling-agent starting",
            metadata: [
                "hatchling": "\(configuration.name)", "boot_id": "\(context.bootId)", "mqtt.client_id": "\(configuration.clientID)",
                "mqtt.brokers": "\(configuration.brokers.map(\.description).joined(separator: ","))",
                "mqtt.protocol": "\(configuration.protocolChoice)", "commands.signed": "\(configuration.commandKey != nil)",
            ])
        for warning in configuration.warnings { logger.warning("\(warning)") }
        loop.connectNow()

        var shutdownMessageID: Int32? = nil
        var stopping = false
        for await event in events {
            switch event {
            case .mqtt(.connAck(let ack)):
                loop.handle(ack)
            case .mqtt(.disconnected(let ending)):
                if stopping {
                    client.close()
                    continue
                }
                if let delay = loop.handle(ending) {
                    Task {
                        try? await Task.sleep(for: .seconds(delay))
                        sink.yield(.reconnectDue)
                    }
                }
            case .mqtt(.message(let message)):
                // A command that arrived before the connection was set up, checked and queued in order.
                if !stopping, message.topic == topics.command || message.topic == topics.broadcast {
                    admitAndQueue(message, false, false)
                }
            case .mqtt(.published(let messageID, let reasonCode)):
                if reasonCode.isFailure {
                    logger.error(
                        "broker refused a publish (check its ACL)",
                        metadata: ["mqtt.mid": "\(messageID)", "mqtt.reason_code": "\(reasonCode.rawValue)"])
                    context.counters.update { $0.lastError = "broker refused a publish with reason code \(reasonCode.rawValue)" }
                }
                if stopping, messageID == shutdownMessageID {
                    client.close()
                }
            case .mqtt(.subscribed(_, let granted)):
                loop.subscribed()
                if granted.contains(where: \.isFailure) {
                    logger.error("broker refused a subscription (check its ACL)", metadata: ["mqtt.granted_qos": "\(granted.map(\.rawValue))"])
                }
            case .mqttFinished:
                logger.info("hatchling-agent stopped", metadata: ["boot_id": "\(context.bootId)"])
                return 0
            case .reconnectDue:
                if !stopping { loop.connectNow() }
            case .reloaded(let applied):
                timers.restartIfChanged(interval: applied.heartbeatInterval)
            case .signal(SIGHUP):
                switch context.reload() {
                case .success(let report):
                    logger.info(
                        "configuration reloaded (SIGHUP)",
                        metadata: ["config.changed": "\(report.changed)", "config.restart_required": "\(report.restartRequired)"])
                case .failure(let body):
                    logger.error("configuration reload failed (SIGHUP)", metadata: ["error": "\(body.message)"])
                }
            case .signal(let number):
                guard !stopping else { continue }
                stopping = true
                shuttingDown.store(true, ordering: .relaxed)
                logger.info("shutting down", metadata: ["signal": "\(number == SIGTERM ? "SIGTERM" : "SIGINT")"])
                timers.cancel()
                local.stop()
                commandSink.finish()
                await Self.drain(commandWorker, within: Self.commandDrainSeconds)
                shutdownMessageID = loop.announceShutdown()
                if shutdownMessageID == nil { client.close() }
                Task {
                    try? await Task.sleep(for: .seconds(Self.shutdownAckSeconds))
                    sink.yield(.shutdownDeadline)
                }
            case .shutdownDeadline:
                // The broker did not acknowledge in time (or the network thread is stuck in a
                // connect): stop anyway, within the 5 seconds a supervisor allows.
                logger.warning("shutdown did not complete in time; exiting")
                return 0
            }
        }
        return 0
    }

    /// Lets the command in flight finish, for `seconds` at most; then cancels the worker.
    static func drain(_ worker: Task<Void, Never>, within seconds: Double) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await worker.value }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                worker.cancel()
            }
            await group.next()
            group.cancelAll()
        }
    }
}

/// The heartbeat and gateway probe timers; re-armed when a reload changes the interval.
///
/// The heartbeat runs on libmosquitto's network thread (`MQTTClient.setTimer`): a beat then wakes
/// one thread, not a timer thread, a task and the network thread in turn, and a context switch
/// cost more CPU than the whole collection (docs/benchmarks.md).
struct Timers {
    let heartbeat: HeartbeatPublisher
    let context: AgentContext
    let stopping: @Sendable () -> Bool
    /// Runs on every beat, before the heartbeat (the refusal log's summary of a flood that ended).
    let onTick: @Sendable () -> Void
    private var probe: PeriodicThread? = nil
    private var interval = 0

    init(
        heartbeat: HeartbeatPublisher, context: AgentContext, stopping: @escaping @Sendable () -> Bool,
        onTick: @escaping @Sendable () -> Void
    ) {
        self.onTick = onTick
        self.heartbeat = heartbeat
        self.context = context
        self.stopping = stopping
    }

    mutating func start(interval: Int) {
        self.interval = interval
        let (heartbeat, stopping, context, onTick) = (heartbeat, stopping, context, onTick)
        heartbeat.client.setTimer(interval: Double(interval)) {
            onTick()
            if !stopping() { heartbeat.publish() }
        }
        // The probe runs on its own beat, on its own thread (it blocks for up to its timeout);
        // the heartbeat reports its last result and age.
        probe = PeriodicThread(name: "gateway-probe", interval: Double(interval)) {
            context.gateway.probeNow(context.configuration.gatewayHealthURL)
        }
    }

    mutating func restartIfChanged(interval: Int) {
        guard interval != self.interval else { return }
        cancel()
        start(interval: interval)
    }

    mutating func cancel() {
        heartbeat.client.cancelTimer()
        probe?.stop()
        probe = nil
    }
}
