import FleetProtocol
import HatchlingSystem
import MosquittoClient
import Synchronization

/// The hub's one connection for a run: connects (falling back to MQTT 3.1.1 when the broker
/// refuses 5), subscribes and publishes with their acknowledgements awaited, and keeps every
/// message in an inbox, in arrival order, for `next(timeout:)` and `drain()`.
///
/// An inbox rather than an `AsyncStream`: a consumer that gives up waiting (a deadline, a
/// screen refresh) must not end the stream, and cancelling a task waiting on an `AsyncStream`
/// finishes it.
public final class HubConnection: Sendable {
    /// What this connection was made with.
    public let settings: ConnectionSettings
    let client: MQTTClient
    let shared = Shared()

    final class Shared: Sendable {
        let state = Mutex(State())
    }

    struct State {
        var connAck: MQTTConnAck?
        var ended: String?
        /// How the connection (or its attempt) ended, when it has.
        var ending: MQTTDisconnect?
        var subAcks: [Int32: [MQTTReasonCode]] = [:]
        var pubAcks: [Int32: MQTTReasonCode] = [:]
        var inbox: [MQTTMessage] = []
        var inboxStart = 0
        /// When the last retained message came: the retained snapshot has arrived once none has
        /// for a while (live messages, which keep coming in a busy fleet, do not count).
        var lastRetainedAt = Monotonic.seconds()
        var retainedCount = 0
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    struct Waiter {
        var ready: @Sendable (State) -> Bool
        var continuation: CheckedContinuation<Bool, Never>
    }

    /// The broker this connection reached.
    public let broker: MQTTEndpoint

    private init(settings: ConnectionSettings, client: MQTTClient, broker: MQTTEndpoint) {
        self.settings = settings
        self.client = client
        self.broker = broker
    }

    /// Starts the task that takes the client's events into `shared`; it ends when the client's
    /// event stream finishes (after close()). Started by `connect`, not by `init`: making a value
    /// starts no work.
    private func startPump() {
        let (client, shared) = (client, shared)
        Task.detached {
            for await event in client.events { shared.handle(event) }
            shared.finish()
        }
    }

    /// Connects with a fresh client id and a clean session to the first broker of the list that
    /// accepts, negotiating the protocol as the agent does (`MQTT_PROTOCOL`); each attempt waits
    /// at most `timeout` seconds, or the connect timeout when that is longer.
    public static func connect(_ settings: ConnectionSettings, timeout: Double = 5) async throws(FleetctlError) -> HubConnection {
        // What each broker took is remembered for the life of the process, as in the agent: the
        // exporter and `watch` reconnect without paying for MQTT 5 again (10 s on a silent broker).
        var negotiator = negotiated.withLock { remembered in
            if let remembered, remembered.choice == settings.protocolChoice { return remembered }
            return ProtocolNegotiator(choice: settings.protocolChoice)
        }
        defer { negotiated.withLock { [negotiator] in $0 = negotiator } }
        var problems: [String] = []
        for endpoint in settings.endpoints {
            // Two attempts at most per broker: the second after a fall back to 3.1.1.
            attempts: for _ in 0..<2 {
                let client: MQTTClient
                do {
                    client = try MQTTClient(options: settings.clientOptions(protocolVersion: negotiator.version(for: endpoint)))
                } catch {
                    throw .connection(error.message)
                }
                let hub = HubConnection(settings: settings, client: client, broker: endpoint)
                hub.startPump()
                client.connect(to: endpoint, keepalive: settings.keepalive)
                let answered = await hub.wait(max(timeout, settings.connectTimeout + 1)) { $0.connAck != nil || $0.ended != nil }
                let (ack, ending) = hub.shared.state.withLock { ($0.connAck, $0.ending) }
                if answered, let ack, ack.accepted {
                    negotiator.accepted(endpoint, version: ack.protocolVersion)
                    return hub
                }
                if let ack, !ack.accepted {
                    // The refused attempt ends with its own `.disconnected`; close it before the next.
                    hub.close()
                    if negotiator.refused(endpoint, ack) != nil { continue attempts }
                    problems.append("\(endpoint) refused the connection: \(ack.reason)")
                    break attempts
                }
                hub.close()
                if let ending {
                    if negotiator.ended(endpoint, ending, version: client.protocolVersion) != nil { continue attempts }
                    problems.append("\(endpoint): \(ending.reason)")
                } else {
                    problems.append("no answer from \(endpoint) within \(Int(max(timeout, settings.connectTimeout + 1))) s")
                }
                break attempts
            }
        }
        throw .connection(problems.joined(separator: "; "))
    }

    /// The protocol each broker took, learned by earlier connections of this process.
    private static let negotiated = Mutex<ProtocolNegotiator?>(nil)

    /// The protocol version the connection speaks (3.1.1 has no correlation data).
    public var protocolVersion: MQTTProtocolVersion { client.protocolVersion }

    /// Subscribes to each filter and waits for the broker's SUBACK; returns its entries, one
    /// granted QoS per filter (a refusal throws).
    @discardableResult
    public func subscribe(_ filters: [String], qos: Int, timeout: Double = 5) async throws(FleetctlError) -> [MQTTReasonCode] {
        let ids: [Int32]
        do {
            ids = try client.subscribe(filters, qos: qos)
        } catch {
            throw .broker("cannot subscribe to \(filters.joined(separator: ", ")): \(error.message)")
        }
        guard await wait(timeout, { state in ids.allSatisfy { state.subAcks[$0] != nil } }) else {
            throw endedError() ?? .broker("the broker did not acknowledge the subscription within \(Int(timeout)) s")
        }
        let granted = shared.state.withLock { state in ids.flatMap { state.subAcks[$0] ?? [] } }
        if let refused = granted.firstIndex(where: \.isFailure), refused < filters.count {
            throw .broker("the broker refused the subscription to \(filters[refused]): check the hub's user in the ACL")
        }
        return granted
    }

    /// Subscribes, then waits until the retained messages of those filters have arrived; they
    /// are in the inbox then (`drain()` takes the snapshot).
    ///
    /// MQTT says nothing of when the retained messages of a subscription are all sent, so the
    /// snapshot is taken once none has come for a while: a SUBACK of an empty subscription (the
    /// barrier) first, then `quiet` seconds without a *retained* message (live ones, which never
    /// stop in a busy fleet, do not count), and longer the more have come: 4 µs more per message
    /// received. At 50,000 hatchlings mosquitto paused for more than 50 ms between the statuses and
    /// the heartbeats, after the barrier's SUBACK; a fixed 50 ms missed every heartbeat.
    public func subscribeAndSettle(_ filters: [String], qos: Int, quiet: Double = 0.05, cap: Double = 15) async throws(FleetctlError) {
        let before = shared.state.withLock { $0.retainedCount }
        try await subscribe(filters, qos: qos)
        try await subscribe(["\(settings.topicRoot)/fleetctl-barrier-\(RandomID.hex(8))/status"], qos: 0)
        let start = Monotonic.seconds()
        shared.state.withLock { $0.lastRetainedAt = max($0.lastRetainedAt, start) }
        while Monotonic.seconds() - start < cap {
            let (last, count) = shared.state.withLock { ($0.lastRetainedAt, $0.retainedCount - before) }
            let needed = quiet + Double(count) * 0.000_004
            let quietFor = Monotonic.seconds() - last
            if quietFor >= needed { break }
            try? await Task.sleep(for: .milliseconds(Int((needed - quietFor) * 1000) + 1))
        }
        if let error = endedError() { throw error }
    }

    /// The next message, waiting at most `timeout` seconds; nil on timeout or when the connection
    /// has ended (`ended` tells which).
    public func next(timeout: Double) async -> MQTTMessage? {
        if let message = pop() { return message }
        _ = await wait(timeout) { $0.inbox.count > $0.inboxStart }
        return pop()
    }

    /// Every message received and not yet taken, in order.
    public func drain() -> [MQTTMessage] {
        shared.state.withLock { state in
            defer {
                state.inbox = []
                state.inboxStart = 0
            }
            return Array(state.inbox[state.inboxStart...])
        }
    }

    /// Why the connection ended, or nil while it holds.
    public var ended: FleetctlError? { endedError() }

    private func pop() -> MQTTMessage? {
        shared.state.withLock { state in
            guard state.inboxStart < state.inbox.count else { return nil }
            defer {
                state.inboxStart += 1
                // Compact now and then, so a long watch does not keep every message.
                if state.inboxStart >= 1024 {
                    state.inbox.removeFirst(state.inboxStart)
                    state.inboxStart = 0
                }
            }
            return state.inbox[state.inboxStart]
        }
    }

    /// Publishes and waits for the PUBACK (QoS 1); returns its MQTT 5 reason code (`success` under
    /// 3.1.1), a success one: a refusal throws (`notAuthorized` as `.notAuthorised`).
    /// `retain` with an empty payload deletes the topic's retained message (`forget`).
    @discardableResult
    public func publish(
        _ topic: String, _ payload: [UInt8], qos: Int = 1, retain: Bool = false,
        properties: MQTTPublishProperties = MQTTPublishProperties(), timeout: Double = 5
    ) async throws(FleetctlError) -> MQTTReasonCode {
        let mid: Int32
        do {
            mid = try client.publish(topic: topic, payload: payload, qos: qos, retain: retain, properties: properties)
        } catch {
            throw .broker("cannot publish to \(topic): \(error.message)")
        }
        guard await wait(timeout, { $0.pubAcks[mid] != nil }) else {
            throw endedError() ?? .broker("the broker did not acknowledge the publish to \(topic) within \(Int(timeout)) s")
        }
        let code = shared.state.withLock { $0.pubAcks[mid] ?? .success }
        if code == .notAuthorized {
            throw .notAuthorised(
                "the broker refused the publish to \(topic) (not authorised): the ACL does not let this user (MQTT_USERNAME) write it; in the template the hub's user, zephyr, may write commands and the broadcast; only \(ForgetRunner.adminUser) may write statuses and heartbeats (fleetctl forget)"
            )
        }
        if code.isFailure { throw .broker("the broker refused the publish to \(topic): \(code)") }
        return code
    }

    /// Disconnects cleanly; pending waits return at once.
    public func close() {
        client.close()
    }

    /// The error for a connection that has ended, or nil while it holds.
    private func endedError() -> FleetctlError? {
        shared.state.withLock { $0.ended }.map { .broker("the connection to the broker ended: \($0)") }
    }

    /// Waits until `ready` holds for the state, the connection ends, or `timeout` passes.
    func wait(_ timeout: Double, _ ready: @escaping @Sendable (State) -> Bool) async -> Bool {
        let shared = self.shared
        let timer = Mutex<Task<Void, Never>?>(nil)
        defer { timer.withLock { $0?.cancel() } }
        return await withCheckedContinuation { continuation in
            let key = shared.state.withLock { state -> Int? in
                if ready(state) || state.ended != nil { return nil }
                defer { state.nextWaiter += 1 }
                state.waiters[state.nextWaiter] = Waiter(ready: ready, continuation: continuation)
                return state.nextWaiter
            }
            guard let key else {
                continuation.resume(returning: shared.state.withLock { ready($0) })
                return
            }
            // Registered first, timed out second: the timer can only find a waiter that exists.
            let task = Task {
                try? await Task.sleep(for: .milliseconds(Int(timeout * 1000)))
                shared.state.withLock { $0.waiters.removeValue(forKey: key) }?.continuation.resume(returning: false)
            }
            timer.withLock { $0 = task }
        }
    }
}

extension HubConnection.Shared {
    func handle(_ event: MQTTEvent) {
        let resumed = state.withLock { state -> [(CheckedContinuation<Bool, Never>, Bool)] in
            switch event {
            case .connAck(let ack): state.connAck = ack
            case .disconnected(let ending):
                state.ended = ending.reason
                state.ending = ending
            case .subscribed(let mid, let granted): state.subAcks[mid] = granted
            case .published(let mid, let code): state.pubAcks[mid] = code
            case .message(let message):
                state.inbox.append(message)
                if message.retain {
                    state.lastRetainedAt = Monotonic.seconds()
                    state.retainedCount += 1
                }
            }
            var out: [(CheckedContinuation<Bool, Never>, Bool)] = []
            for (key, waiter) in state.waiters {
                let ready = waiter.ready(state)
                guard ready || state.ended != nil else { continue }
                state.waiters.removeValue(forKey: key)
                out.append((waiter.continuation, ready))
            }
            return out
        }
        for (continuation, value) in resumed { continuation.resume(returning: value) }
    }

    func finish() {
        let waiters = state.withLock { state in
            defer { state.waiters = [:] }
            if state.ended == nil {
                state.ended = "closed"
            }
            return state.waiters.values.map(\.continuation)
        }
        waiters.forEach { $0.resume(returning: false) }
    }
}
