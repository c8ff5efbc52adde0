import CMosquitto
import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// `mosquitto_lib_init` runs once per process, the first time a client is made.
private let libraryInitResult: Int32 = mosquitto_lib_init()

/// One MQTT connection through libmosquitto: the only owner of a `struct mosquitto *`.
///
/// The client runs its own network thread (not libmosquitto's `loop_start`), so that the caller
/// decides when and where to reconnect: libmosquitto's built-in reconnect neither jitters nor resends
/// the MQTT 5 session expiry, which would silently turn a persistent session into a clean one.
/// Each `connect(to:)` request ends in exactly one `.disconnected` event; everything that happens
/// in between (CONNACK, messages, acknowledgements) arrives on `events` in order.
public final class MQTTClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` is created in init and destroyed only in deinit, which cannot
    // run before the network thread (which holds a strong reference) has ended. libmosquitto locks
    // its own state, and `mosquitto_threaded_set(true)` makes calls from other threads queue
    // packets for the network thread instead of writing to the socket themselves. Our own mutable
    // state is inside `state`, a Mutex.
    private let handle: OpaquePointer
    /// The options this client was made with.
    public let options: MQTTClientOptions
    /// Everything the connection reports. Finishes after `close()`.
    public let events: AsyncStream<MQTTEvent>
    private let continuation: AsyncStream<MQTTEvent>.Continuation
    private let state: Mutex<State>
    private let wakeup = DispatchSemaphore(value: 0)

    private enum Request {
        case connect(MQTTEndpoint, keepalive: Int)
        case stop
    }

    private struct State {
        var requests: [Request] = []
        var threadStarted = false
        var closed = false
        var protocolVersion: MQTTProtocolVersion
        var disconnectRequested = false
        var lastDisconnectCause: MQTTDisconnect.Cause? = nil
        var lastDisconnectReason: String? = nil
        /// The last error libmosquitto logged during this attempt (OpenSSL's words for a TLS failure).
        var lastLibraryError: String? = nil
        var messageHandler: (@Sendable (MQTTMessage) -> Bool)? = nil
        var publishAckFilter: (@Sendable (_ messageID: Int32, _ reasonCode: MQTTReasonCode) -> Bool)? = nil
        /// Work to run after the loop's next pass (`afterPendingWrites`), oldest first.
        var afterWrites: [@Sendable () -> Void] = []
        /// Periodic work on the network thread (`setTimer`).
        var timer: Timer? = nil
        /// Whether the current attempt got its CONNACK, and whether it gave up waiting for one.
        var connAckReceived = false
        var connAckTimedOut = false
        /// The broker's maximum QoS from its CONNACK (MQTT 5); publishes and subscriptions above
        /// it are sent at it (libmosquitto refuses them otherwise).
        var maximumQoS = 2
    }

    private struct Timer {
        var interval: Double
        var due: Double
        var work: @Sendable () -> Void
    }

    /// Creates the handle and applies every option; connects nothing and starts no thread.
    public init(options: MQTTClientOptions) throws(MQTTError) {
        try MQTTError.check(libraryInitResult, "mosquitto_lib_init")
        guard let handle = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            throw MQTTError(operation: "mosquitto_new", code: MOSQ_ERR_NOMEM.rawValue)
        }
        self.handle = handle
        self.options = options
        self.state = Mutex(State(protocolVersion: options.protocolVersion))
        (self.events, self.continuation) = AsyncStream.makeStream(of: MQTTEvent.self)
        do {
            try configure()
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
    }

    deinit {
        mosquitto_destroy(handle)
    }

    private func configure() throws(MQTTError) {
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        try MQTTError.check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        try MQTTError.check(
            mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, options.tcpNoDelay ? 1 : 0),
            "mosquitto_int_option(TCP_NODELAY)")
        if let username = options.username {
            try MQTTError.check(
                mosquitto_username_pw_set(handle, username, options.password), "mosquitto_username_pw_set")
        }
        if let tls = options.tls {
            try MQTTError.check(
                mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "mosquitto_tls_set")
        }
        if let will = options.will {
            // mosquitto_will_set (not _v5): no will properties, so it works under both versions.
            let code = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(
                    handle, will.topic, Int32(bytes.count), bytes.baseAddress, Int32(will.qos), will.retain)
            }
            try MQTTError.check(code, "mosquitto_will_set")
        }
        installCallbacks()
    }

    private static func client(_ userdata: UnsafeMutableRawPointer?) -> MQTTClient? {
        guard let userdata else { return nil }
        return Unmanaged<MQTTClient>.fromOpaque(userdata).takeUnretainedValue()
    }

    /// Keeps libmosquitto's error lines (OpenSSL's own words for a TLS failure) for the next
    /// `.disconnected` reason. Installed only while a connection is being set up: with a log
    /// callback in place, libmosquitto formats every debug line (four `vsnprintf` per command,
    /// 12 % of a command's instructions) only for this callback to drop it.
    private static let logCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void = {
        _, userdata, level, text in
        guard level & Int32(MOSQ_LOG_ERR) != 0, let text, let client = MQTTClient.client(userdata) else { return }
        let line = String(cString: text)
        client.state.withLock { $0.lastLibraryError = line }
    }

    // The callbacks run on the network thread and must not block: copy, yield, return.
    private func installCallbacks() {
        mosquitto_connect_v5_callback_set(handle) { mosq, userdata, code, flags, props in
            guard let client = MQTTClient.client(userdata) else { return }
            if code == 0 { mosquitto_log_callback_set(mosq, nil) }
            let maximumQoS = readMaximumQoS(props)
            let version = client.state.withLock { s in
                s.connAckReceived = true
                s.maximumQoS = maximumQoS ?? 2
                return s.protocolVersion
            }
            var reason = mqttReasonString(Int(code), protocolVersion: version)
            if let extra = readReasonString(props) { reason += ": \(extra)" }
            client.continuation.yield(
                .connAck(
                    MQTTConnAck(
                        reasonCode: MQTTReasonCode(connAckCode: code, protocolVersion: version),
                        sessionPresent: (flags & 1) != 0, reason: reason, protocolVersion: version, maximumQoS: maximumQoS)))
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, userdata, code, props in
            guard let client = MQTTClient.client(userdata) else { return }
            // A DISCONNECT from an MQTT 5 broker carries a reason code (a failure, such as
            // "Session taken over"); otherwise the code is libmosquitto's own MOSQ_ERR_*.
            let savedErrno = errno
            let cause = MQTTDisconnect.Cause(disconnectCallbackCode: code)
            var reason: String
            switch cause {
            case .broker(let reasonCode): reason = reasonCode.text
            case .library(let code): reason = MQTTError.describe(code: code, errno: savedErrno)
            }
            if let extra = readReasonString(props) { reason += ": \(extra)" }
            client.state.withLock {
                $0.lastDisconnectCause = cause
                $0.lastDisconnectReason = reason
            }
        }
        mosquitto_message_v5_callback_set(handle) { _, userdata, message, props in
            guard let client = MQTTClient.client(userdata), let message = message?.pointee else { return }
            let topic = message.topic.map { String(cString: $0) } ?? ""
            let payload: [UInt8] =
                message.payloadlen > 0 && message.payload != nil
                ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
            let (correlation, expiry) = readMessageProperties(props)
            let copied = MQTTMessage(
                topic: topic, payload: payload, qos: Int(message.qos), retain: message.retain,
                correlationData: correlation, messageExpiryInterval: expiry)
            if let handler = client.state.withLock({ $0.messageHandler }), handler(copied) { return }
            client.continuation.yield(.message(copied))
        }
        mosquitto_publish_v5_callback_set(handle) { _, userdata, mid, reasonCode, _ in
            guard let client = MQTTClient.client(userdata) else { return }
            let reasonCode = MQTTReasonCode(libraryValue: reasonCode)
            if let filter = client.state.withLock({ $0.publishAckFilter }), !filter(mid, reasonCode) { return }
            client.continuation.yield(.published(messageID: mid, reasonCode: reasonCode))
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, userdata, mid, count, granted, _ in
            let qos = (0..<Int(max(count, 0))).map { index in
                granted.map { MQTTReasonCode(libraryValue: $0[index]) } ?? .unspecifiedError
            }
            MQTTClient.client(userdata)?.continuation.yield(.subscribed(messageID: mid, grantedQoS: qos))
        }
    }

    // MARK: - Requests

    /// Sees every message first, on the network thread, before it would go to `events`; a handler
    /// that returns true has taken it. For answering at once, with no thread hop: it must not
    /// block (no waiting for an actor or for I/O), since the connection waits for it.
    public func setMessageHandler(_ handler: (@Sendable (MQTTMessage) -> Bool)?) {
        state.withLock { $0.messageHandler = handler }
    }

    /// Runs `work` on the network thread once every packet queued before the call has been handed
    /// to the socket: after the current pass of the loop when that pass wrote everything, else
    /// after the next one; at the latest, when the connection ends. For the message handler: what
    /// need not delay an answer (its log line) runs once the answer is on its way. libmosquitto
    /// writes a packet queued in a callback only after the callback returns, so work done in the
    /// callback after `publish` would still hold the answer back.
    public func afterPendingWrites(_ work: @escaping @Sendable () -> Void) {
        state.withLock { $0.afterWrites.append(work) }
    }

    /// Runs `work` on the network thread every `interval` seconds (the first time one interval from
    /// now) while a connection is up, between passes of the loop; replaces any earlier timer. A run
    /// that falls while there is no connection is skipped. For periodic publishing such as a
    /// heartbeat: it costs no other thread, so no wake-up beyond the loop's own. The work must not
    /// block: commands wait for it.
    public func setTimer(interval: Double, _ work: @escaping @Sendable () -> Void) {
        let due = Self.monotonicSeconds() + interval
        // The loop sleeps at most a second at a time, so it sees the new due time before it
        // falls (for intervals under a second, the first run may be up to a second late).
        state.withLock { $0.timer = Timer(interval: interval, due: due, work: work) }
    }

    /// Stops the timer set with `setTimer`; work already running finishes.
    public func cancelTimer() {
        state.withLock { $0.timer = nil }
    }

    /// Decides, on the network thread, which acknowledgements of this client's publishes reach
    /// `events` as `.published`; the others are dropped there. An agent that answers thousands of
    /// commands needs only the refusals and the one acknowledgement it waits for, and each event it
    /// does not need would wake a task. Nil (the default) reports every acknowledgement.
    public func setPublishAckFilter(_ filter: (@Sendable (_ messageID: Int32, _ reasonCode: MQTTReasonCode) -> Bool)?) {
        state.withLock { $0.publishAckFilter = filter }
    }

    /// The protocol version the next `connect(to:)` uses (for falling back to 3.1.1).
    public var protocolVersion: MQTTProtocolVersion {
        get { state.withLock { $0.protocolVersion } }
        set { state.withLock { $0.protocolVersion = newValue } }
    }

    /// Asks the network thread to connect. Returns at once; the outcome arrives on `events`
    /// (`.connAck` then, eventually, `.disconnected`; or only `.disconnected` if the attempt failed).
    public func connect(to endpoint: MQTTEndpoint, keepalive: Int) {
        enqueue(.connect(endpoint, keepalive: keepalive))
    }

    /// Subscribes to each topic at `qos`; returns the message ids, acknowledged later by `.subscribed`.
    @discardableResult
    public func subscribe(_ topics: [String], qos: Int = 1) throws(MQTTError) -> [Int32] {
        var ids: [Int32] = []
        let qos = min(qos, state.withLock { $0.maximumQoS })
        for topic in topics {
            var mid: Int32 = 0
            try MQTTError.check(mosquitto_subscribe(handle, &mid, topic, Int32(qos)), "mosquitto_subscribe(\(topic))")
            ids.append(mid)
        }
        return ids
    }

    /// Queues a PUBLISH; returns its message id, acknowledged later by `.published`.
    /// MQTT 5 properties are sent only when the connection speaks version 5.
    @discardableResult
    public func publish(
        topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = false,
        properties: MQTTPublishProperties = MQTTPublishProperties()
    ) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        let (version, maximumQoS) = state.withLock { ($0.protocolVersion, $0.maximumQoS) }
        let qos = min(qos, maximumQoS)
        let useProperties = !properties.isEmpty && version == .v5
        let code = try withPropertyList { (list: inout OpaquePointer?) throws(MQTTError) in
            if useProperties { try addPublishProperties(properties, to: &list) }
        } _: { list in
            payload.withUnsafeBytes { bytes in
                mosquitto_publish_v5(
                    handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain, list)
            }
        }
        try MQTTError.check(code, "mosquitto_publish_v5(\(topic))")
        return mid
    }

    /// Sends DISCONNECT (no Last Will is published). Returns false when there was no connection.
    /// The connection's `.disconnected` event follows.
    @discardableResult
    public func disconnect() -> Bool {
        state.withLock { $0.disconnectRequested = true }
        return mosquitto_disconnect(handle) == MOSQ_ERR_SUCCESS.rawValue
    }

    /// Disconnects if connected and ends the network thread; `events` finishes after that.
    public func close() {
        let alreadyClosed = state.withLock { s in
            defer { s.closed = true }
            return s.closed
        }
        guard !alreadyClosed else { return }
        disconnect()
        enqueue(.stop)
    }

    private func enqueue(_ request: Request) {
        let startThread = state.withLock { s -> Bool in
            s.requests.append(request)
            defer { s.threadStarted = true }
            return !s.threadStarted
        }
        if startThread { NetworkThread.start(for: self) }
        wakeup.signal()
    }

    private func nextRequest() -> Request {
        while true {
            let request = state.withLock { s -> Request? in s.requests.isEmpty ? nil : s.requests.removeFirst() }
            if let request { return request }
            wakeup.wait()
        }
    }

    // MARK: - Network thread

    fileprivate func runNetworkThread() {
        while case .connect(let endpoint, let keepalive) = nextRequest() {
            let version = state.withLock { s -> MQTTProtocolVersion in
                s.disconnectRequested = false
                s.lastDisconnectCause = nil
                s.lastDisconnectReason = nil
                s.lastLibraryError = nil
                s.connAckReceived = false
                s.connAckTimedOut = false
                s.maximumQoS = 2
                return s.protocolVersion
            }
            mosquitto_log_callback_set(handle, Self.logCallback)
            if var failure = startConnection(endpoint, keepalive: keepalive, version: version) {
                if let detail = state.withLock({ $0.lastLibraryError }) { failure.reason += " (\(detail))" }
                continuation.yield(.disconnected(failure))
                continue
            }
            // A timer run that fell while there was no connection is skipped, not made up at once.
            let connectedAt = Self.monotonicSeconds()
            let connAckDeadline = connectedAt + options.connectTimeout
            state.withLock { s in
                if var timer = s.timer, timer.due < connectedAt {
                    timer.due = connectedAt + timer.interval
                    s.timer = timer
                }
            }
            var code = MOSQ_ERR_SUCCESS.rawValue
            while code == MOSQ_ERR_SUCCESS.rawValue {
                // Work queued before this pass runs after it; work queued during it (in a callback,
                // after a publish) runs after it too when everything got written, else after the next.
                let (queuedBefore, timerDue, acked) = state.withLock { ($0.afterWrites.count, $0.timer?.due, $0.connAckReceived) }
                var timeout: Int32 = 1000
                if let timerDue { timeout = Int32(max(0, min(1000, ((timerDue - Self.monotonicSeconds()) * 1000).rounded(.up)))) }
                if !acked {
                    // No CONNACK yet: a broker that never answers (some answer no MQTT 5 CONNECT at
                    // all) is given up on at the connect timeout, not after a whole keepalive.
                    let left = connAckDeadline - Self.monotonicSeconds()
                    if left <= 0 {
                        state.withLock { $0.connAckTimedOut = true }
                        code = MOSQ_ERR_TIMEOUT.rawValue
                        break
                    }
                    timeout = min(timeout, Int32(max(1, (left * 1000).rounded(.up))))
                }
                code = ended(mosquitto_loop(handle, timeout, 1))
                // What the pass queued (an answer published from the message handler, a PUBACK) would
                // wait for the next pass, after another `pselect`: libmosquitto writes only what was
                // queued before it looked at the socket. Written now, it leaves a pass earlier.
                if code == MOSQ_ERR_SUCCESS.rawValue, mosquitto_want_write(handle) {
                    code = ended(mosquitto_loop_write(handle, 1))
                }
                // With nothing left to write, everything queued so far is on the socket.
                if code == MOSQ_ERR_SUCCESS.rawValue, !mosquitto_want_write(handle) {
                    runAfterWrites(nil)
                } else if queuedBefore > 0 {
                    runAfterWrites(queuedBefore)
                }
                if code == MOSQ_ERR_SUCCESS.rawValue, runTimerIfDue(), mosquitto_want_write(handle) {
                    code = ended(mosquitto_loop_write(handle, 1))
                }
            }
            if state.withLock({ $0.connAckTimedOut }) { dropSocket() }
            runAfterWrites(nil)
            let loopError = MQTTError(operation: "mosquitto_loop", code: code)
            let ending = state.withLock { s in
                MQTTDisconnect(
                    cause: s.lastDisconnectCause ?? .library(code: code),
                    reason: s.connAckTimedOut
                        ? "no CONNACK within \(MQTTClient.format(options.connectTimeout)) s of connecting (MQTT_CONNECT_TIMEOUT)"
                        : (s.lastDisconnectReason ?? loopError.message) + (s.lastLibraryError.map { " (\($0))" } ?? ""),
                    wasConnected: true,
                    requested: s.disconnectRequested,
                    connAckReceived: s.connAckReceived,
                    connAckTimedOut: s.connAckTimedOut)
            }
            continuation.yield(.disconnected(ending))
        }
        continuation.finish()
    }

    /// Closes a connection that never got its CONNACK. libmosquitto has no call to drop a
    /// connection without sending DISCONNECT (which a broker that has not accepted CONNECT should
    /// not get); shutting the socket down makes its next read fail, and the loop then closes it.
    private func dropSocket() {
        let fd = mosquitto_socket(handle)
        guard fd >= 0 else { return }
        _ = shutdown(fd, Int32(SHUT_RDWR))
        // One pass reads the end of the stream and closes the socket (and calls the callbacks).
        _ = mosquitto_loop(handle, 0, 1)
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }

    /// `code`, or "no connection" when libmosquitto reported success with the socket already
    /// closed (after the broker's DISCONNECT, or our own once written), as `mosquitto_loop` itself
    /// checks after a read or a write. Going on would write to a closed connection, which makes
    /// libmosquitto call the disconnect callback again (overwriting the broker's reason) and would
    /// run the timer with no connection.
    private func ended(_ code: Int32) -> Int32 {
        code == MOSQ_ERR_SUCCESS.rawValue && mosquitto_socket(handle) < 0 ? MOSQ_ERR_NO_CONN.rawValue : code
    }

    /// Runs the timer's work when it is due, and sets its next due time (skipping runs already
    /// missed); true when it ran.
    @discardableResult
    private func runTimerIfDue() -> Bool {
        let now = Self.monotonicSeconds()
        let work = state.withLock { s -> (@Sendable () -> Void)? in
            guard var timer = s.timer, now >= timer.due else { return nil }
            timer.due += timer.interval
            if timer.due <= now { timer.due = now + timer.interval }
            s.timer = timer
            return timer.work
        }
        guard let work else { return false }
        work()
        return true
    }

    static func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }

    /// Runs the first `count` pieces of `afterPendingWrites` work (all of it when nil), in order.
    private func runAfterWrites(_ count: Int?) {
        let due = state.withLock { s -> [@Sendable () -> Void] in
            let taken = min(count ?? s.afterWrites.count, s.afterWrites.count)
            defer { s.afterWrites.removeFirst(taken) }
            return Array(s.afterWrites.prefix(taken))
        }
        for work in due { work() }
    }

    /// Runs the TCP connect (blocking, on this thread) and sends CONNECT; nil when that worked.
    private func startConnection(
        _ endpoint: MQTTEndpoint, keepalive: Int, version: MQTTProtocolVersion
    ) -> MQTTDisconnect? {
        let versionCode = version == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311
        _ = mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, versionCode)
        let sessionExpiry: UInt32? = (version == .v5 && !options.cleanSession) ? options.sessionExpiryInterval : nil
        let result: Result<Void, MQTTError> = Result { () throws(MQTTError) in
            try withPropertyList { (list: inout OpaquePointer?) throws(MQTTError) in
                if version == .v5, let maximum = options.maximumPacketSize {
                    try MQTTError.check(
                        mosquitto_property_add_int32(&list, Int32(MQTT_PROP_MAXIMUM_PACKET_SIZE.rawValue), maximum),
                        "mosquitto_property_add_int32(maximum-packet-size)")
                }
                if let sessionExpiry {
                    try MQTTError.check(
                        mosquitto_property_add_int32(
                            &list, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), sessionExpiry),
                        "mosquitto_property_add_int32(session-expiry)")
                }
            } _: { (list: OpaquePointer?) throws(MQTTError) in
                let code = mosquitto_connect_bind_v5(
                    handle, endpoint.host, Int32(endpoint.port), Int32(keepalive), nil, list)
                try MQTTError.check(code, "connect to \(endpoint)")
            }
        }
        if case .failure(let error) = result {
            return MQTTDisconnect(cause: .library(code: error.code), reason: error.message, wasConnected: false, requested: false)
        }
        return nil
    }
}

/// Starts a detached POSIX thread that runs the client's network loop and keeps it alive meanwhile.
/// Sets the calling thread's name (at most 15 bytes) through /proc: `pthread_setname_np` is not
/// in Swift's view of glibc.
func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

private enum NetworkThread {
    static func start(for client: MQTTClient) {
        let retained = Unmanaged.passRetained(client).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(
            &thread, nil,
            { argument in
                let client = Unmanaged<MQTTClient>.fromOpaque(argument!).takeRetainedValue()
                // Named for `top -H` and /proc/PID/task/*/comm (it would inherit its creator's name).
                nameThisThread("mqtt-network")
                client.runNetworkThread()
                return nil
            }, retained)
        // Failing to make a thread at start-up is not an environment the agent can work around.
        precondition(code == 0, "pthread_create failed: \(code)")
        pthread_detach(thread)
    }
}
