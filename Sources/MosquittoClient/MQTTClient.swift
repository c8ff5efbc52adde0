import CMosquitto
import HatchlingSystem
import Synchronization

/// `mosquitto_lib_init` runs once per process, the first time a client is made.
let libraryInitResult: Int32 = mosquitto_lib_init()

/// One MQTT connection through libmosquitto with a network thread of its own, for programs whose
/// work runs elsewhere (the hub's `fleetctl`, the tests' hub): everything the connection reports
/// arrives on `events`, an `AsyncStream`. The agent does not use it: its event loop drives an
/// `MQTTConnection` itself.
///
/// The thread runs `mosquitto_loop` (not libmosquitto's `loop_start`), so that the caller decides
/// when and where to reconnect: libmosquitto's built-in reconnect neither jitters nor resends the
/// MQTT 5 session expiry, which would silently turn a persistent session into a clean one. Each
/// `connect(to:)` request ends in exactly one `.disconnected` event; everything that happens in
/// between (CONNACK, messages, acknowledgements) arrives on `events` in order.
public final class MQTTClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` is created in init and destroyed only in deinit, which cannot
    // run before the network thread (which holds a strong reference) has ended. libmosquitto locks
    // its own state, and `mosquitto_threaded_set(true)` makes calls from other threads queue
    // packets for the network thread (waking its `mosquitto_loop`) instead of writing to the socket
    // themselves. Our own mutable state is inside `state`, a Mutex.
    private let handle: OpaquePointer
    /// The options this client was made with.
    public let options: MQTTClientOptions
    /// Everything the connection reports. Finishes after `close()`.
    public let events: AsyncStream<MQTTEvent>
    private let continuation: AsyncStream<MQTTEvent>.Continuation
    private let state: Mutex<State>
    private let wakeup: WakeDescriptor

    private enum Request {
        case connect(MQTTEndpoint, keepalive: Int)
        case stop
    }

    private struct State {
        var requests: [Request] = []
        var threadStarted = false
        var closed = false
        var protocolVersion: MQTTProtocolVersion
        var attempt = MQTTAttempt()
    }

    /// Creates the handle and applies every option; connects nothing and starts no thread.
    public init(options: MQTTClientOptions) throws(MQTTError) {
        do {
            wakeup = try WakeDescriptor(blocking: true)
        } catch {
            throw MQTTError(operation: "eventfd", code: MOSQ_ERR_ERRNO.rawValue)
        }
        handle = try MosquittoHandle.make(options: options)
        self.options = options
        self.state = Mutex(State(protocolVersion: options.protocolVersion))
        (self.events, self.continuation) = AsyncStream.makeStream(of: MQTTEvent.self)
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        installCallbacks()
    }

    deinit {
        mosquitto_destroy(handle)
    }

    private static func client(_ userdata: UnsafeMutableRawPointer?) -> MQTTClient? {
        userdata.map { Unmanaged<MQTTClient>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Keeps libmosquitto's error lines (OpenSSL's own words for a TLS failure) for the next
    /// `.disconnected` reason. Installed only while a connection is being set up: with a log
    /// callback in place, libmosquitto formats every debug line only for this callback to drop it.
    private static let logCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void = {
        _, userdata, level, text in
        guard level & Int32(MOSQ_LOG_ERR) != 0, let text, let client = MQTTClient.client(userdata) else { return }
        let line = String(cString: text)
        client.state.withLock { $0.attempt.libraryError = line }
    }

    // The callbacks run on the network thread and must not block: copy, yield, return.
    private func installCallbacks() {
        mosquitto_connect_v5_callback_set(handle) { mosq, userdata, code, flags, props in
            guard let client = MQTTClient.client(userdata) else { return }
            if code == 0 { mosquitto_log_callback_set(mosq, nil) }
            let maximumQoS = readMaximumQoS(props)
            let version = client.state.withLock { s in
                s.attempt.connAckReceived = true
                s.attempt.maximumQoS = maximumQoS ?? 2
                return s.protocolVersion
            }
            client.continuation.yield(.connAck(MosquittoHandle.connAck(code: code, flags: flags, props: props, version: version)))
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, userdata, code, props in
            guard let client = MQTTClient.client(userdata) else { return }
            let (cause, reason) = MosquittoHandle.disconnect(code: code, props: props)
            client.state.withLock {
                $0.attempt.disconnectCause = cause
                $0.attempt.disconnectReason = reason
            }
        }
        mosquitto_message_v5_callback_set(handle) { _, userdata, message, props in
            guard let client = MQTTClient.client(userdata), let message = message?.pointee else { return }
            client.continuation.yield(.message(MosquittoHandle.copy(message, props)))
        }
        mosquitto_publish_v5_callback_set(handle) { _, userdata, mid, reasonCode, _ in
            MQTTClient.client(userdata)?.continuation.yield(.published(messageID: mid, reasonCode: MQTTReasonCode(libraryValue: reasonCode)))
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, userdata, mid, count, granted, _ in
            MQTTClient.client(userdata)?.continuation.yield(.subscribed(messageID: mid, grantedQoS: MosquittoHandle.granted(count, granted)))
        }
    }

    // MARK: - Requests

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
        let qos = min(qos, state.withLock { $0.attempt.maximumQoS })
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
        let (version, maximumQoS) = state.withLock { ($0.protocolVersion, $0.attempt.maximumQoS) }
        return try MosquittoHandle.publish(
            handle, topic: topic, payload: payload, qos: min(qos, maximumQoS), retain: retain,
            properties: version == .v5 ? properties : MQTTPublishProperties())
    }

    /// Sends DISCONNECT (no Last Will is published). Returns false when there was no connection.
    /// The connection's `.disconnected` event follows.
    @discardableResult
    public func disconnect() -> Bool {
        state.withLock { $0.attempt.requested = true }
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
        if startThread {
            // The thread keeps the client alive until it ends. Failing to make a thread is not an
            // environment a client can work around.
            precondition(Threads.spawn(named: "mqtt-network") { [self] in runNetworkThread() }, "cannot start the mqtt-network thread")
        }
        wakeup.wake()
    }

    private func nextRequest() -> Request {
        while true {
            let request = state.withLock { s -> Request? in s.requests.isEmpty ? nil : s.requests.removeFirst() }
            if let request { return request }
            wakeup.wait()
        }
    }

    // MARK: - Network thread

    private func runNetworkThread() {
        while case .connect(let endpoint, let keepalive) = nextRequest() {
            let version = state.withLock { s -> MQTTProtocolVersion in
                s.attempt = MQTTAttempt()
                return s.protocolVersion
            }
            mosquitto_log_callback_set(handle, Self.logCallback)
            if var failure = MosquittoHandle.connect(handle, to: endpoint, keepalive: keepalive, version: version, options: options) {
                if let detail = state.withLock({ $0.attempt.libraryError }) { failure.reason += " (\(detail))" }
                continuation.yield(.disconnected(failure))
                continue
            }
            let connAckDeadline = Monotonic.seconds() + options.connectTimeout
            var code = MOSQ_ERR_SUCCESS.rawValue
            while code == MOSQ_ERR_SUCCESS.rawValue {
                var timeout: Int32 = 1000
                if !state.withLock({ $0.attempt.connAckReceived }) {
                    // No CONNACK yet: a broker that never answers (some answer no MQTT 5 CONNECT at
                    // all) is given up on at the connect timeout, not after a whole keepalive.
                    let left = connAckDeadline - Monotonic.seconds()
                    if left <= 0 {
                        state.withLock { $0.attempt.connAckTimedOut = true }
                        code = MOSQ_ERR_TIMEOUT.rawValue
                        break
                    }
                    timeout = min(timeout, Int32(max(1, (left * 1000).rounded(.up))))
                }
                code = ended(mosquitto_loop(handle, timeout, 1))
                // What the pass queued (a PUBACK) would wait for the next pass, after another
                // `pselect`: libmosquitto writes only what was queued before it looked at the socket.
                if code == MOSQ_ERR_SUCCESS.rawValue, mosquitto_want_write(handle) {
                    code = ended(mosquitto_loop_write(handle, 1))
                }
            }
            if state.withLock({ $0.attempt.connAckTimedOut }) { dropSocket() }
            var ending = state.withLock { $0.attempt.ending(code: code) }
            if ending.connAckTimedOut {
                ending.reason = MQTTAttempt.connAckTimeoutReason(options.connectTimeout)
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

    /// `code`, or "no connection" when libmosquitto reported success with the socket already
    /// closed (after the broker's DISCONNECT, or our own once written), as `mosquitto_loop` itself
    /// checks after a read or a write. Going on would write to a closed connection, which makes
    /// libmosquitto call the disconnect callback again (overwriting the broker's reason).
    private func ended(_ code: Int32) -> Int32 {
        code == MOSQ_ERR_SUCCESS.rawValue && mosquitto_socket(handle) < 0 ? MOSQ_ERR_NO_CONN.rawValue : code
    }
}
