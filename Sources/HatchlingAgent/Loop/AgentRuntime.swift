import FleetProtocol
import HatchlingSystem
import Logging
import MosquittoClient
import Synchronization

/// The running agent: one event loop, on the thread that calls `run`, owns the connection.
///
/// The loop polls the broker's socket, a wake-up descriptor for work other threads hand back, and
/// the signal pipe, and keeps the timers (heartbeat, probe, reconnect, keepalive, deadlines).
/// Each command message is decided (`CommandDispatcher`) where it arrives, on this thread, and
/// acted on: an answer is published at once; a command that needs no I/O runs here; one that
/// does (a probe, a program, a file) runs on the I/O worker, and its answer comes back to this
/// thread to be published. No Swift concurrency, no libdispatch: between events the agent sleeps
/// in one `poll`, with no thread of its own awake.
public final class AgentRuntime {
    public let context: AgentContext
    private let logger: Logger
    private let runner: any CommandRunning

    /// A connection that lasted this long resets the backoff.
    static let stableConnectionSeconds = 10.0
    /// How long shutdown waits for the commands in flight, then for the broker's PUBACK of `shutdown`.
    static let commandDrainSeconds = 2.0
    static let shutdownAckSeconds = 1.5
    /// Commands that passed every check and wait for the worker (a health-check probe takes up to
    /// 2 s); more are refused as rate-limited at once.
    static let maximumQueuedCommands = 32
    /// The largest packet the broker may deliver (MQTT 5): a command at the 4096-byte cap with its
    /// topic and properties fits; anything far larger is dropped by the broker, never buffered here.
    static let maximumPacketSize: UInt32 = UInt32(CommandParser.maximumPayloadBytes) + 4096

    public init(context: AgentContext, logger: Logger, runner: (any CommandRunning)? = nil) {
        self.context = context
        self.logger = logger
        self.runner = runner ?? CommandRunner(context: context)
    }

    /// Runs until SIGTERM or SIGINT; returns the exit status (0 after a clean shutdown).
    public func run() throws -> Int32 {
        signal(SIGPIPE, SIG_IGN)
        let loop = try EventLoop(context: context, runner: runner, logger: logger)
        return loop.run()
    }
}

/// What the loop is doing with the connection: the one place that says so.
enum LoopState: Equatable {
    /// No connection; the next attempt is due at `until`.
    case waiting(until: Double)
    /// The connector thread makes the TCP connection: the loop leaves `MQTTConnection` alone.
    case connecting
    /// CONNECT is on its way; the broker has not answered by `deadline` yet.
    case awaitingConnAck(deadline: Double)
    /// The broker accepted the connection at `since`.
    case connected(since: Double)
    /// SIGTERM or SIGINT: the commands in flight finish (until `until`), then `shutdown` is
    /// announced if the broker had accepted the connection (`announce`).
    case draining(until: Double, announce: Bool)
    /// `shutdown` is published as `messageID`; its PUBACK (or `until`) ends the loop.
    case announcing(until: Double, messageID: Int32)
    /// Done: `run` returns.
    case stopped

    /// Whether libmosquitto holds an open socket that the loop polls.
    var pollsSocket: Bool {
        switch self {
        case .awaitingConnAck, .connected, .draining, .announcing: true
        case .waiting, .connecting, .stopped: false
        }
    }

    var isStopping: Bool {
        switch self {
        case .draining, .announcing, .stopped: true
        default: false
        }
    }

    /// Whether the loop counts on an open socket: a socket found closed then means the connection
    /// ended without `service` seeing it (a write made by `publish` failed and closed it).
    var expectsSocket: Bool {
        switch self {
        case .awaitingConnAck, .connected, .draining(_, announce: true), .announcing: true
        default: false
        }
    }
}

/// Work finished on another thread, handed back to the loop.
enum LoopInput: Sendable {
    /// The connector's TCP connect: nil when CONNECT is on its way.
    case connectFinished(MQTTDisconnect?)
    /// A command that ran on the I/O worker.
    case commandFinished(ticket: UInt64, CommandResult)
    /// A reload asked for by SIGHUP, done on the worker.
    case reloaded(Result<AgentContext.Reload, FleetErrorBody>)
    /// An event from the local socket (`hatchling-agent publish`), to publish; `done` gets the
    /// PUBACK's reason code, or the error that kept it off the bus.
    case publishEvent(OutboundMessage, done: @Sendable (Result<MQTTReasonCode, LocalPublishError>) -> Void)
}

/// Why an event from the local socket was not published.
struct LocalPublishError: Error, CustomStringConvertible {
    var description: String
}

/// Where other threads hand work back to the loop: a queue and a wake-up descriptor it polls.
final class LoopInbox: Sendable {
    private let queue = Mutex<[LoopInput]>([])
    let wake: WakeDescriptor

    init() throws(SystemError) {
        wake = try WakeDescriptor()
    }

    func post(_ input: LoopInput) {
        queue.withLock { $0.append(input) }
        wake.wake()
    }

    /// Everything posted so far, oldest first.
    func take() -> [LoopInput] {
        wake.wait()
        return queue.withLock { inputs in
            defer { inputs.removeAll(keepingCapacity: true) }
            return inputs
        }
    }
}

final class ProbeFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// The loop itself: every piece of mutable state of a running agent that is not a counter lives
/// here, touched by the loop's thread only.
final class EventLoop {
    let context: AgentContext
    let runner: any CommandRunning
    let logger: Logger
    let connection: MQTTConnection
    let inbox: LoopInbox
    let signals: SignalPipe
    /// The I/O worker: commands that wait for I/O, SIGHUP's reload.
    let worker: JobThread
    /// The periodic gateway probe, on its own thread: a gateway that hangs holds it for the probe's
    /// timeout, and a health-check must not wait behind that.
    let prober: JobThread
    /// The TCP connect, which blocks (a broker behind a dead route takes minutes to time out).
    let connector: JobThread
    var policy: ConnectionPolicy
    var dispatcher: CommandDispatcher
    var settings: CommandSettings
    var configuration: AgentConfiguration
    var state: LoopState = .waiting(until: 0)
    /// Commands handed to the worker and not answered yet (at most `maximumQueuedCommands`), by
    /// ticket: those still here when a shutdown's drain ends are answered as refused.
    var inFlight: [UInt64: AdmittedCommand] = [:]
    var nextTicket: UInt64 = 0
    var commandsInFlight: Int { inFlight.count }
    /// The beat: heartbeat (while connected), gateway probe and the refusal logs' summaries, in one
    /// wake-up (two timers a few milliseconds apart cost two). Infinity once stopping.
    var nextBeat = 0.0
    /// Answers made while they could not be published (no accepted connection, or the connector
    /// holds it): they go out once the broker has accepted the next connection.
    var deferredReplies: [(message: OutboundMessage, log: [DecisionLogLine])] = []
    static let maximumDeferredReplies = 64
    /// Events from the local socket waiting for their PUBACK: at most this many (whatever
    /// EVENT_RATE_LIMIT allows), so a client that floods cannot grow the table without end.
    static let maximumEventWaiters = 256
    /// Whether a probe waits or runs on the worker (the worker clears it).
    let probeQueued = ProbeFlag()
    /// When libmosquitto's keepalive (PINGREQ, a lost PINGRESP) is next looked at.
    var nextKeepalive = Double.infinity
    /// Lines to write once what this pass published is on the socket.
    var pendingLog: [DecisionLogLine] = []
    /// Events from the local socket waiting for their PUBACK, by message id.
    var eventWaiters: [Int32: (since: Double, done: @Sendable (Result<MQTTReasonCode, LocalPublishError>) -> Void)] = [:]
    var local: LocalService!

    init(context: AgentContext, runner: any CommandRunning, logger: Logger) throws {
        self.context = context
        self.runner = runner
        self.logger = logger
        // First: a signal that comes before the handlers are in place would take its default action.
        signals = try SignalPipe([SIGTERM, SIGINT, SIGHUP])
        inbox = try LoopInbox()
        let configuration = context.configuration
        self.configuration = configuration
        let will = FleetJSON.encode(StatusPayload.lost(bootId: context.bootId))
        connection = try MQTTConnection(
            options: MQTTClientOptions(
                clientID: configuration.clientID, protocolVersion: context.connection.protocolVersion, cleanSession: false,
                username: configuration.username, password: configuration.password, tls: configuration.tls,
                will: MQTTWill(topic: configuration.topics.status, payload: will, qos: 1, retain: true),
                connectTimeout: configuration.connectTimeout, maximumPacketSize: AgentRuntime.maximumPacketSize))
        worker = JobThread(name: "io-worker", capacity: AgentRuntime.maximumQueuedCommands + 8)
        connector = JobThread(name: "mqtt-connect", capacity: 1)
        prober = JobThread(name: "gateway-probe", capacity: 1)
        settings = CommandSettings(configuration)
        dispatcher = CommandDispatcher(settings: settings, counters: context.counters)
        policy = ConnectionPolicy(context: context, logger: logger, backoff: ReconnectBackoff(cap: configuration.reconnectMax))
        local = LocalService(
            context: context, send: { [inbox] message, done in inbox.post(.publishEvent(message, done: done)) }, topic: configuration.topics.event,
            logger: logger)
        connection.setEventHandler { [unowned self] event in handle(event) }
    }

    func run() -> Int32 {
        logger.info(
            "hatchling-agent starting",
            metadata: [
                "hatchling": "\(configuration.name)", "boot_id": "\(context.bootId)", "mqtt.client_id": "\(configuration.clientID)",
                "mqtt.brokers": "\(configuration.brokers.map(\.description).joined(separator: ","))",
                "mqtt.protocol": "\(configuration.protocolChoice)", "commands.signed": "\(configuration.commandKey != nil)",
            ])
        for warning in configuration.warnings { logger.warning("\(warning)") }
        local.start(path: configuration.agentSocket)
        startConnecting()
        var fds: [pollfd] = []
        while state != .stopped {
            if state.expectsSocket, !connection.isConnecting, connection.socket < 0 {
                service(readable: false, writable: false)
            }
            let now = Monotonic.seconds()
            runTimers(now: now)
            if state == .stopped { break }
            let socket = state.pollsSocket ? connection.socket : -1
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: inbox.wake.fd, events: Int16(POLLIN), revents: 0))
            fds.append(pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0))
            if socket >= 0 {
                fds.append(pollfd(fd: socket, events: Int16(POLLIN) | (connection.wantsWrite ? Int16(POLLOUT) : 0), revents: 0))
            }
            Poll.wait(&fds, timeout: max(0, nextDeadline() - now))
            if fds.count > 2, fds[2].revents != 0 {
                let revents = fds[2].revents
                service(readable: revents & Int16(POLLIN | POLLHUP | POLLERR) != 0, writable: revents & Int16(POLLOUT) != 0)
            }
            if fds[0].revents != 0 {
                for input in inbox.take() { handle(input) }
            }
            if fds[1].revents != 0 {
                while let number = signals.next() { handle(signal: number) }
            }
        }
        if connection.socket >= 0 { connection.disconnect() }
        if !deferredReplies.isEmpty {
            let count = deferredReplies.count
            context.counters.update { $0.dropped += count }
            for reply in deferredReplies { for line in reply.log { line.write(to: logger, published: false) } }
            logger.warning("answers not published: the agent stopped before the broker took them", metadata: ["count": "\(count)"])
        }
        worker.stop()
        prober.stop()
        local.stop()
        logger.info("hatchling-agent stopped", metadata: ["boot_id": "\(context.bootId)"])
        return 0
    }

    // MARK: - Timers

    /// The earliest moment the loop must wake for (infinity: none).
    func nextDeadline() -> Double {
        var deadline = nextBeat
        switch state {
        case .waiting(let until), .draining(let until, _), .announcing(let until, _): deadline = min(deadline, until)
        case .awaitingConnAck(let until): deadline = min(deadline, until, nextKeepalive)
        case .connected: deadline = min(deadline, nextKeepalive)
        case .connecting, .stopped: break
        }
        return deadline
    }

    func runTimers(now: Double) {
        switch state {
        case .waiting(let until) where now >= until:
            startConnecting()
        case .awaitingConnAck(let deadline) where now >= deadline:
            // No CONNACK: a broker that never answers (some answer no MQTT 5 CONNECT at all) is
            // given up on at the connect timeout, not after a whole keepalive. What the socket
            // holds is read first: a CONNACK that came at the last moment counts.
            service(readable: true, writable: false)
            if case .awaitingConnAck = state {
                ended(connection.abandon())
            }
        case .draining(let until, let announce) where now >= until || commandsInFlight == 0:
            announceShutdown(announce)
        case .announcing(let until, _) where now >= until:
            // The broker did not acknowledge in time: stop anyway, well within the 8 seconds the
            // supervisor allows (and the 10 of `docker stop`).
            logger.warning("shutdown did not complete in time; exiting")
            finish()
        default:
            break
        }
        if now >= nextKeepalive, state.pollsSocket {
            nextKeepalive = now + keepaliveCheckInterval
            service(readable: false, writable: false)
        }
        if now >= nextBeat {
            // Beats missed while the loop was busy are skipped, not made up.
            nextBeat += Double(configuration.heartbeatInterval)
            if nextBeat <= now { nextBeat = now + Double(configuration.heartbeatInterval) }
            if let summary = dispatcher.refusalSummaryIfDue(now: now) { logger.warning("\(summary)") }
            local.flushRefusalLogIfDue()
            if case .connected = state { publishHeartbeat() }
            queueProbe()
        }
    }

    /// How often libmosquitto's keepalive is looked at: a quarter of the keepalive, so a PINGREQ
    /// goes out by 1.25 keepalives of silence (the broker allows 1.5) and a lost PINGRESP is seen
    /// within 1.25 keepalives.
    var keepaliveCheckInterval: Double { max(0.25, Double(configuration.keepalive) / 4) }

    /// The probe runs on its own thread and beat (it blocks for up to its timeout); the heartbeat
    /// reports its last result and age. One at a time.
    func queueProbe() {
        guard !probeQueued.value.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let (context, probeQueued) = (context, probeQueued)
        if !prober.submit({
            context.gateway.probe(context.configuration(\.gatewayHealthURL))
            probeQueued.value.store(false, ordering: .releasing)
        }) {
            probeQueued.value.store(false, ordering: .releasing)
        }
    }

    // MARK: - The connection

    func startConnecting() {
        guard !state.isStopping else { return }
        let (endpoint, version) = policy.nextAttempt()
        connection.protocolVersion = version
        logger.debug("connecting", metadata: ["mqtt.broker": "\(endpoint)", "mqtt.protocol": "\(version)"])
        state = .connecting
        // Hands off from now, before the connector thread starts: the loop must not touch the
        // handle while it connects.
        connection.handOver()
        let (connection, inbox, keepalive) = (UncheckedBox(connection), inbox, configuration.keepalive)
        let submitted = connector.submit {
            inbox.post(.connectFinished(connection.value.connect(to: endpoint, keepalive: keepalive)))
        }
        precondition(submitted, "the connector is busy while the loop is not connecting")
    }

    func connectFinished(_ failure: MQTTDisconnect?) {
        if state.isStopping {
            // Connected meanwhile, but stopping: DISCONNECT at once (no CONNACK yet, no session to
            // announce); the drain ends the loop.
            if failure == nil { connection.disconnect() }
            return
        }
        if let failure {
            ended(failure)
            return
        }
        let now = Monotonic.seconds()
        state = .awaitingConnAck(deadline: now + connection.options.connectTimeout)
        nextKeepalive = now + keepaliveCheckInterval
    }

    /// Reads, writes and keeps the connection alive; then writes the lines of what was answered.
    func service(readable: Bool, writable: Bool) {
        let ending = connection.service(readable: readable, writable: writable)
        writePendingLog()
        if let ending { ended(ending) }
    }

    func writePendingLog() {
        guard !pendingLog.isEmpty else { return }
        for line in pendingLog { line.write(to: logger) }
        pendingLog.removeAll(keepingCapacity: true)
    }

    /// The connection (or the attempt) ended.
    func ended(_ ending: MQTTDisconnect) {
        nextKeepalive = .infinity
        if state.isStopping {
            finish()
            return
        }
        let wait = policy.handle(ending, version: connection.protocolVersion)
        state = .waiting(until: Monotonic.seconds() + wait)
    }

    func handle(_ event: MQTTEvent) {
        switch event {
        case .connAck(let ack):
            guard case .awaitingConnAck = state, policy.handle(ack, on: connection) else { return }
            let now = Monotonic.seconds()
            state = .connected(since: now)
            publishHeartbeat()
            // The next beat at most an interval from now; never later than it was due, so that a
            // connection that keeps dropping before an interval has passed still gets its probe
            // and the refusal logs' summaries.
            nextBeat = min(nextBeat, now + Double(configuration.heartbeatInterval))
            publishDeferredReplies()
        case .message(let message):
            guard message.topic == settings.topics.command || message.topic == settings.topics.broadcast else { return }
            // While stopping, a command that passes the checks is refused rather than dropped (the
            // broker has its PUBACK), so that the hub sends it again once the agent is back.
            act(dispatcher.decide(message, at: .now(), settings: settings, shuttingDown: state.isStopping), inCallback: true)
        case .published(let messageID, let reasonCode):
            if let waiter = eventWaiters.removeValue(forKey: messageID) { waiter.done(.success(reasonCode)) }
            if reasonCode.isFailure {
                logger.error(
                    "broker refused a publish (check its ACL)",
                    metadata: ["mqtt.mid": "\(messageID)", "mqtt.reason_code": "\(reasonCode.rawValue)"])
                context.counters.update { $0.lastError = "broker refused a publish: \(reasonCode)" }
            }
            if case .announcing(_, messageID) = state { finish() }
        case .subscribed(_, let granted):
            policy.subscribed()
            if granted.contains(where: \.isFailure) {
                logger.error("broker refused a subscription (check its ACL)", metadata: ["mqtt.granted_qos": "\(granted.map(\.rawValue))"])
            }
        case .disconnected:
            // `MQTTConnection` reports an ending as the result of `service`, never as an event.
            break
        }
    }

    func publishHeartbeat() {
        let heartbeat = context.makeHeartbeat()
        do {
            try connection.publish(
                OutboundMessage(
                    topic: settings.topics.heartbeat, payload: FleetJSON.encode(heartbeat), qos: 1, retain: true,
                    properties: MQTTPublishProperties(messageExpiryInterval: UInt32(heartbeat.intervalS * 3))))
            context.heartbeatPublished()
        } catch {
            logger.warning("heartbeat not published", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - Commands

    /// Does what the dispatcher decided. `inCallback`: inside libmosquitto's message callback,
    /// where a publish is queued and written when the callback returns, so the log waits for that.
    func act(_ action: CommandAction, inCallback: Bool) {
        switch action {
        case .reply(let message, let log):
            guard mayPublish else {
                deferReply(message, log)
                return
            }
            let published = publish(message, id: log.lazy.compactMap(\.id).first)
            if inCallback && published {
                pendingLog.append(contentsOf: log)
            } else {
                for line in log { line.write(to: logger, published: published) }
            }
        case .drop(let log):
            for line in log { line.write(to: logger) }
        case .run(let admitted, let log):
            for line in log { line.write(to: logger) }
            run(admitted, inCallback: inCallback)
        }
    }

    /// Runs an admitted command: here when it needs no I/O and nothing waits before it (order
    /// holds), else on the worker, at most `maximumQueuedCommands` of them.
    func run(_ admitted: AdmittedCommand, inCallback: Bool) {
        if commandsInFlight == 0, !runner.needsIO(admitted.command) {
            complete(admitted, runner.run(admitted.command), inCallback: inCallback)
            return
        }
        guard commandsInFlight < AgentRuntime.maximumQueuedCommands else {
            act(dispatcher.refuseBusy(admitted, at: .now(), settings: settings), inCallback: inCallback)
            return
        }
        let (runner, inbox) = (runner, inbox)
        nextTicket += 1
        let ticket = nextTicket
        let submitted = worker.submit {
            inbox.post(.commandFinished(ticket: ticket, runner.run(admitted.command)))
        }
        if submitted {
            inFlight[ticket] = admitted
        } else {
            act(dispatcher.refuseBusy(admitted, at: .now(), settings: settings), inCallback: inCallback)
        }
    }

    /// A command's result: settings a reload applied are put in force first (a hub that tightens
    /// the limit and floods at once meets the new limit), then the answer goes out.
    func complete(_ admitted: AdmittedCommand, _ result: CommandResult, inCallback: Bool) {
        if let applied = result.applied { apply(applied) }
        act(dispatcher.complete(admitted, outcome: result.outcome, at: .now(), settings: settings), inCallback: inCallback)
    }

    func apply(_ applied: AgentConfiguration) {
        let intervalChanged = applied.heartbeatInterval != configuration.heartbeatInterval
        configuration = applied
        settings = CommandSettings(applied)
        if intervalChanged, nextBeat.isFinite { nextBeat = Monotonic.seconds() + Double(applied.heartbeatInterval) }
    }

    /// Whether an answer can be published now: the broker accepted the connection and the loop
    /// holds it (answers are still published while draining, before `shutdown`).
    var mayPublish: Bool {
        switch state {
        case .connected, .draining(_, announce: true), .announcing: !connection.isConnecting
        default: false
        }
    }

    /// Keeps an answer for the next accepted connection (QoS 1: the hub waits for it); beyond
    /// `maximumDeferredReplies`, the oldest are dropped and counted.
    func deferReply(_ message: OutboundMessage, _ log: [DecisionLogLine]) {
        if deferredReplies.count >= Self.maximumDeferredReplies {
            for line in deferredReplies.removeFirst().log { line.write(to: logger, published: false) }
            context.counters.update {
                $0.dropped += 1
                $0.lastError = "response not published: more than \(Self.maximumDeferredReplies) answers waited for the broker"
            }
        }
        deferredReplies.append((message, log))
        logger.debug(
            "answer kept until the broker accepts the next connection",
            metadata: ["command.id": "\(log.lazy.compactMap(\.id).first ?? "-")"])
    }

    func publishDeferredReplies() {
        let waiting = deferredReplies
        deferredReplies.removeAll()
        for reply in waiting { act(.reply(reply.message, log: reply.log), inCallback: true) }
    }

    /// Publishes; false when the client library refused (a full queue, a connection lost meanwhile).
    @discardableResult
    func publish(_ message: OutboundMessage, id: String? = nil) -> Bool {
        do {
            try connection.publish(message)
            return true
        } catch {
            context.counters.update {
                $0.dropped += 1
                $0.lastError = "response not published: \(error)"
            }
            logger.warning("response not published", metadata: ["command.id": "\(id ?? "-")", "error": "\(error)"])
            return false
        }
    }

    // MARK: - Work handed back, signals

    func handle(_ input: LoopInput) {
        switch input {
        case .connectFinished(let failure):
            connectFinished(failure)
        case .commandFinished(let ticket, let result):
            // Not there any more: answered as refused when the shutdown's drain ended.
            guard let admitted = inFlight.removeValue(forKey: ticket) else { return }
            complete(admitted, result, inCallback: false)
        case .reloaded(.success(let reload)):
            apply(reload.applied)
            logger.info(
                "configuration reloaded (SIGHUP)",
                metadata: ["config.changed": "\(reload.report.changed)", "config.restart_required": "\(reload.report.restartRequired)"])
        case .reloaded(.failure(let body)):
            logger.error("configuration reload failed (SIGHUP)", metadata: ["error": "\(body.message)"])
        case .publishEvent(let message, let done):
            publishEvent(message, done: done)
        }
    }

    func publishEvent(_ message: OutboundMessage, done: @escaping @Sendable (Result<MQTTReasonCode, LocalPublishError>) -> Void) {
        guard case .connected = state else {
            done(.failure(LocalPublishError(description: "not connected to the broker")))
            return
        }
        // Waiters older than a minute are dropped (their client has long had `timeout`); their
        // message ids may be reused.
        let now = Monotonic.seconds()
        if eventWaiters.count >= 64 { eventWaiters = eventWaiters.filter { now - $0.value.since < 60 } }
        guard eventWaiters.count < Self.maximumEventWaiters else {
            done(.failure(LocalPublishError(description: "too many events wait for the broker's acknowledgement")))
            return
        }
        do {
            let id = try connection.publish(message)
            eventWaiters[id] = (now, done)
        } catch {
            done(.failure(LocalPublishError(description: "\(error)")))
        }
    }

    func handle(signal number: Int32) {
        if number == SIGHUP {
            let (context, inbox) = (context, inbox)
            if !worker.submit({ inbox.post(.reloaded(context.reload())) }) {
                logger.error("configuration reload not started (SIGHUP): the worker's queue is full")
            }
            return
        }
        guard !state.isStopping else { return }
        logger.info("shutting down", metadata: ["signal": "\(number == SIGTERM ? "SIGTERM" : "SIGINT")"])
        local.stop()
        nextBeat = .infinity
        let connected: Bool
        if case .connected = state { connected = true } else { connected = false }
        // An attempt the broker has not accepted is dropped; one the connector still holds is
        // dropped when it comes back (`connectFinished`).
        if !connected, state.pollsSocket { connection.disconnect() }
        state = .draining(until: Monotonic.seconds() + AgentRuntime.commandDrainSeconds, announce: connected)
    }

    /// After the drain: what still waits for the worker is answered as refused (the broker has
    /// their PUBACKs: the hub would wait for its timeout), `shutdown` published, its PUBACK
    /// awaited; or the end, with no connection.
    func announceShutdown(_ announce: Bool) {
        let unfinished = inFlight.sorted { $0.key < $1.key }.map(\.value)
        inFlight.removeAll()
        for admitted in unfinished {
            act(dispatcher.refuseShuttingDown(admitted, at: .now(), settings: settings), inCallback: false)
        }
        guard announce, connection.socket >= 0, let id = policy.announceShutdown(on: connection) else {
            finish()
            return
        }
        state = .announcing(until: Monotonic.seconds() + AgentRuntime.shutdownAckSeconds, messageID: id)
    }

    /// Ends the loop; `run` sends DISCONNECT on its way out (not here: this may run inside a
    /// libmosquitto callback, which must not drive the connection itself).
    func finish() {
        state = .stopped
    }
}
