import CMosquitto
import HatchlingSystem
import Synchronization

/// One MQTT connection through libmosquitto with no thread of its own: the owner's event loop
/// polls `socket` and calls `service`, and the callbacks (CONNACK, message, acknowledgement) run
/// inside that call (or inside `publish`, `disconnect` and `abandon`, which may read or write too),
/// on the loop's thread, in order.
///
/// One thread at a time: the loop's, except for `connect(to:)`, which blocks for the TCP connect
/// and may run on a helper thread (the agent's `mqtt-connect`): the owner calls `handOver()` first,
/// and until `connect` returns, `isConnecting` is true and every other call leaves the handle alone: `socket` is -1, `service` and `disconnect`
/// do nothing, `publish` and `subscribe` fail with "no connection". (libmosquitto sets its socket
/// before the blocking `connect()`: a write to it from the loop would block the loop until the
/// kernel gives up, minutes on a dead route.)
///
/// libmosquitto runs in its threaded mode (`mosquitto_threaded_set(true)`), so that it queues
/// every packet instead of writing it where it is made: the PUBACK of a command, which it makes
/// before calling back, then goes out together with the answer made in the callback, in one write
/// pass after the read (unthreaded, it was written alone first, and the broker woke twice: a round
/// trip took 1.25 times a C client's instead of 1.1). A publish made outside a callback is written
/// at once by `publish` itself.
public final class MQTTConnection: @unchecked Sendable {
    // @unchecked Sendable: handed between the loop and the connector thread, never used by both
    // at once: `connecting` (set before, cleared after the connector's work, with release and
    // acquire ordering) keeps the loop's calls off the handle meanwhile.
    private let handle: OpaquePointer
    private let connecting = Atomic<Bool>(false)
    /// Set while `abandon` drops an attempt: callbacks from that read are not reported.
    private var abandoning = false
    /// Set while a callback runs: a publish then is left queued for `service` to write.
    private var inCallback = false
    /// The options this connection was made with.
    public let options: MQTTClientOptions
    /// The protocol version of the current (or next) attempt.
    public var protocolVersion: MQTTProtocolVersion
    private var handler: (MQTTEvent) -> Void = { _ in }
    private var attempt = MQTTAttempt()

    /// Creates the handle and applies every option; connects nothing.
    public init(options: MQTTClientOptions) throws(MQTTError) {
        handle = try MosquittoHandle.make(options: options)
        self.options = options
        self.protocolVersion = options.protocolVersion
        mosquitto_user_data_set(handle, Unmanaged.passUnretained(self).toOpaque())
        installCallbacks()
    }

    deinit {
        mosquitto_destroy(handle)
    }

    /// Where every event of this connection goes, synchronously, on the thread that calls `service`.
    /// A handler that publishes (an answer) has its packet written before `service` returns.
    public func setEventHandler(_ handler: @escaping (MQTTEvent) -> Void) {
        self.handler = handler
    }

    // MARK: - The loop's calls

    /// Whether `connect(to:)` is running (on another thread), or about to: hands off.
    public var isConnecting: Bool { connecting.load(ordering: .acquiring) }

    /// Marks the connection as the connector's, before handing it to another thread for
    /// `connect(to:)` (which clears the mark when it returns).
    public func handOver() {
        connecting.store(true, ordering: .releasing)
    }

    /// The connection's socket, or -1 when there is none (or while connecting).
    public var socket: Int32 { isConnecting ? -1 : mosquitto_socket(handle) }

    /// Whether packets wait to be written (poll the socket for POLLOUT too).
    public var wantsWrite: Bool { !isConnecting && mosquitto_want_write(handle) }

    /// Connects (TCP, blocking this thread; TLS handshake) and queues CONNECT. Returns nil when the
    /// connection is up and CONNECT on its way; otherwise how the attempt ended.
    public func connect(to endpoint: MQTTEndpoint, keepalive: Int) -> MQTTDisconnect? {
        connecting.store(true, ordering: .releasing)
        defer { connecting.store(false, ordering: .releasing) }
        attempt = MQTTAttempt()
        mosquitto_log_callback_set(handle, logCallback)
        let failure = MosquittoHandle.connect(
            handle, to: endpoint, keepalive: keepalive, version: protocolVersion, options: options)
        guard var failure else { return nil }
        if let detail = attempt.libraryError { failure.reason += " (\(detail))" }
        return failure
    }

    /// Reads what the socket has (`readable`), writes what is queued (`writable`, or anything a
    /// callback queued), and runs libmosquitto's keepalive. Returns how the connection ended, if
    /// it did (once: the socket is closed then).
    public func service(readable: Bool, writable: Bool) -> MQTTDisconnect? {
        guard !isConnecting else { return nil }
        var code = MOSQ_ERR_SUCCESS.rawValue
        if readable {
            code = ended(mosquitto_loop_read(handle, 1))
            // With TLS, OpenSSL may hold more decrypted bytes than libmosquitto read: they would
            // never make the socket readable again. Bounded: a broker cannot keep the loop here.
            var more = 0
            while code == MOSQ_ERR_SUCCESS.rawValue, options.tls != nil, more < 64, let ssl = mosquitto_ssl_get(handle),
                SSL_pending(ssl) > 0
            {
                code = ended(mosquitto_loop_read(handle, 1))
                more += 1
            }
        }
        // The keepalive first: a PINGREQ it queues goes out in the same write pass.
        if code == MOSQ_ERR_SUCCESS.rawValue { code = ended(mosquitto_loop_misc(handle)) }
        if code == MOSQ_ERR_SUCCESS.rawValue, writable || mosquitto_want_write(handle) {
            code = ended(mosquitto_loop_write(handle, 1))
        }
        return code == MOSQ_ERR_SUCCESS.rawValue ? nil : ending(code)
    }

    /// Gives up on an attempt the broker has not answered: closes the socket without DISCONNECT
    /// (which a broker that has not accepted CONNECT should not get). libmosquitto has no call for
    /// it; shutting the socket down makes its next read fail, and that read closes it. Whatever
    /// that read still finds (a CONNACK that came at the last moment) is not reported: the caller
    /// services the socket first. Called when no CONNACK came within the options' connect timeout.
    public func abandon() -> MQTTDisconnect {
        let fd = socket
        if fd >= 0 {
            abandoning = true
            defer { abandoning = false }
            _ = shutdown(fd, Int32(SHUT_RDWR))
            _ = mosquitto_loop_read(handle, 1)
            // Still open (a last CONNACK was read): queue DISCONNECT and write it, which fails on
            // the shut socket and closes it.
            if mosquitto_socket(handle) >= 0 {
                _ = mosquitto_disconnect(handle)
                _ = mosquitto_loop_write(handle, 1)
            }
        }
        return MQTTDisconnect(
            cause: .library(code: MOSQ_ERR_TIMEOUT.rawValue), reason: MQTTAttempt.connAckTimeoutReason(options.connectTimeout),
            wasConnected: true, requested: false, connAckReceived: false, connAckTimedOut: true)
    }

    /// Sends DISCONNECT (no Last Will is published) and closes the socket; false with no connection.
    @discardableResult
    public func disconnect() -> Bool {
        guard !isConnecting else { return false }
        attempt.requested = true
        let sent = mosquitto_disconnect(handle) == MOSQ_ERR_SUCCESS.rawValue
        // The DISCONNECT is queued; writing it closes the socket.
        if sent { _ = mosquitto_loop_write(handle, 1) }
        if mosquitto_socket(handle) >= 0 { _ = mosquitto_loop_misc(handle) }
        return sent
    }

    /// Subscribes to each topic at `qos` (at most the broker's maximum); returns the message ids.
    @discardableResult
    public func subscribe(_ topics: [String], qos: Int = 1) throws(MQTTError) -> [Int32] {
        guard !isConnecting else { throw MQTTError(operation: "mosquitto_subscribe", code: MOSQ_ERR_NO_CONN.rawValue) }
        var ids: [Int32] = []
        for topic in topics {
            var mid: Int32 = 0
            try MQTTError.check(
                mosquitto_subscribe(handle, &mid, topic, Int32(min(qos, attempt.maximumQoS))), "mosquitto_subscribe(\(topic))")
            ids.append(mid)
        }
        return ids
    }

    /// Queues a PUBLISH (written at once outside a callback); returns its message id. MQTT 5
    /// properties are sent only when the connection speaks version 5.
    @discardableResult
    public func publish(
        topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = false,
        properties: MQTTPublishProperties = MQTTPublishProperties()
    ) throws(MQTTError) -> Int32 {
        guard !isConnecting else { throw MQTTError(operation: "mosquitto_publish_v5(\(topic))", code: MOSQ_ERR_NO_CONN.rawValue) }
        let mid = try MosquittoHandle.publish(
            handle, topic: topic, payload: payload, qos: min(qos, attempt.maximumQoS), retain: retain,
            properties: protocolVersion == .v5 ? properties : MQTTPublishProperties())
        // Outside a callback nothing else will write it soon: now. (A socket that is full keeps
        // the rest queued; `wantsWrite` then asks the owner to poll for POLLOUT.)
        if !inCallback, mosquitto_socket(handle) >= 0 { _ = mosquitto_loop_write(handle, 1) }
        return mid
    }

    // MARK: - Inside

    /// `code`, or "no connection" when libmosquitto reported success with the socket already
    /// closed (after the broker's DISCONNECT, or our own once written).
    private func ended(_ code: Int32) -> Int32 {
        code == MOSQ_ERR_SUCCESS.rawValue && mosquitto_socket(handle) < 0 ? MOSQ_ERR_NO_CONN.rawValue : code
    }

    private func ending(_ code: Int32) -> MQTTDisconnect {
        if mosquitto_socket(handle) >= 0 {
            _ = mosquitto_disconnect(handle)
            _ = mosquitto_loop_write(handle, 1)
        }
        return attempt.ending(code: code)
    }

    private static func connection(_ userdata: UnsafeMutableRawPointer?) -> MQTTConnection? {
        userdata.map { Unmanaged<MQTTConnection>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Hands `event` to the owner, keeping `errno` as libmosquitto left it: its read loop stops
    /// at EAGAIN, and a handler that logs (a write to a non-blocking stderr) must not stop it early.
    private func report(_ event: MQTTEvent) {
        guard !abandoning else { return }
        let (savedErrno, wasInCallback) = (errno, inCallback)
        inCallback = true
        handler(event)
        inCallback = wasInCallback
        errno = savedErrno
    }

    /// Keeps libmosquitto's error lines for the attempt's ending. Installed only while a connection
    /// is being set up: with a log callback in place, libmosquitto formats every debug line.
    private let logCallback: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?) -> Void = {
        _, userdata, level, text in
        guard level & Int32(MOSQ_LOG_ERR) != 0, let text, let connection = MQTTConnection.connection(userdata) else { return }
        connection.attempt.libraryError = String(cString: text)
    }

    private func installCallbacks() {
        mosquitto_connect_v5_callback_set(handle) { mosq, userdata, code, flags, props in
            guard let connection = MQTTConnection.connection(userdata) else { return }
            if code == 0 { mosquitto_log_callback_set(mosq, nil) }
            let maximumQoS = readMaximumQoS(props)
            connection.attempt.connAckReceived = true
            connection.attempt.maximumQoS = maximumQoS ?? 2
            connection.report(.connAck(MosquittoHandle.connAck(code: code, flags: flags, props: props, version: connection.protocolVersion)))
        }
        mosquitto_disconnect_v5_callback_set(handle) { _, userdata, code, props in
            guard let connection = MQTTConnection.connection(userdata) else { return }
            let (cause, reason) = MosquittoHandle.disconnect(code: code, props: props)
            connection.attempt.disconnectCause = cause
            connection.attempt.disconnectReason = reason
        }
        mosquitto_message_v5_callback_set(handle) { _, userdata, message, props in
            guard let connection = MQTTConnection.connection(userdata), let message else { return }
            connection.report(.message(MosquittoHandle.copy(message.pointee, props)))
        }
        mosquitto_publish_v5_callback_set(handle) { _, userdata, mid, reasonCode, _ in
            MQTTConnection.connection(userdata)?.report(.published(messageID: mid, reasonCode: MQTTReasonCode(libraryValue: reasonCode)))
        }
        mosquitto_subscribe_v5_callback_set(handle) { _, userdata, mid, count, granted, _ in
            MQTTConnection.connection(userdata)?.report(.subscribed(messageID: mid, grantedQoS: MosquittoHandle.granted(count, granted)))
        }
    }
}

/// What one connection attempt has seen so far, as `MQTTConnection` and `MQTTClient` both keep it.
struct MQTTAttempt {
    var disconnectCause: MQTTDisconnect.Cause? = nil
    var disconnectReason: String? = nil
    /// The last error libmosquitto logged while the connection was being set up (OpenSSL's words).
    var libraryError: String? = nil
    var connAckReceived = false
    /// No CONNACK came within the connect timeout, and the client gave up.
    var connAckTimedOut = false
    /// This end asked for the disconnect.
    var requested = false
    /// The broker's maximum QoS (MQTT 5 CONNACK); publishes and subscriptions above it are sent at it.
    var maximumQoS = 2

    /// Why an attempt was given up after `seconds` without a CONNACK.
    static func connAckTimeoutReason(_ seconds: Double) -> String {
        let shown = seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
        return "no CONNACK within \(shown) s of connecting (MQTT_CONNECT_TIMEOUT)"
    }

    /// How the connection ended, once libmosquitto's loop returned `code`.
    func ending(code: Int32) -> MQTTDisconnect {
        let reason = (disconnectReason ?? MQTTError(operation: "mosquitto_loop", code: code).message) + (libraryError.map { " (\($0))" } ?? "")
        return MQTTDisconnect(
            cause: disconnectCause ?? .library(code: code), reason: reason, wasConnected: true, requested: requested,
            connAckReceived: connAckReceived, connAckTimedOut: connAckTimedOut)
    }
}

/// What `MQTTConnection` and `MQTTClient` do to a `struct mosquitto *` the same way: options,
/// connecting with MQTT 5 properties, publishing, and copying callback arguments out.
enum MosquittoHandle {
    /// A new handle with every option applied, in threaded mode (libmosquitto queues every packet
    /// for its owner's loop to write); destroyed again when an option fails.
    static func make(options: MQTTClientOptions) throws(MQTTError) -> OpaquePointer {
        try MQTTError.check(libraryInitResult, "mosquitto_lib_init")
        guard let handle = mosquitto_new(options.clientID, options.cleanSession, nil) else {
            throw MQTTError(operation: "mosquitto_new", code: MOSQ_ERR_NOMEM.rawValue)
        }
        do {
            try configure(handle, options: options)
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
        return handle
    }

    private static func configure(_ handle: OpaquePointer, options: MQTTClientOptions) throws(MQTTError) {
        try MQTTError.check(mosquitto_threaded_set(handle, true), "mosquitto_threaded_set")
        try MQTTError.check(
            mosquitto_int_option(handle, MOSQ_OPT_TCP_NODELAY, options.tcpNoDelay ? 1 : 0), "mosquitto_int_option(TCP_NODELAY)")
        if let username = options.username {
            try MQTTError.check(mosquitto_username_pw_set(handle, username, options.password), "mosquitto_username_pw_set")
        }
        if let tls = options.tls {
            try MQTTError.check(mosquitto_tls_set(handle, tls.caFile, nil, tls.certFile, tls.keyFile, nil), "mosquitto_tls_set")
        }
        if let will = options.will {
            // mosquitto_will_set (not _v5): no will properties, so it works under both versions.
            let code = will.payload.withUnsafeBytes { bytes in
                mosquitto_will_set(handle, will.topic, Int32(bytes.count), bytes.baseAddress, Int32(will.qos), will.retain)
            }
            try MQTTError.check(code, "mosquitto_will_set")
        }
    }

    /// Runs the TCP connect (blocking) and queues CONNECT with the session expiry and maximum
    /// packet size (MQTT 5); nil when that worked.
    static func connect(
        _ handle: OpaquePointer, to endpoint: MQTTEndpoint, keepalive: Int, version: MQTTProtocolVersion, options: MQTTClientOptions
    ) -> MQTTDisconnect? {
        _ = mosquitto_int_option(handle, MOSQ_OPT_PROTOCOL_VERSION, version == .v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311)
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
                        mosquitto_property_add_int32(&list, Int32(MQTT_PROP_SESSION_EXPIRY_INTERVAL.rawValue), sessionExpiry),
                        "mosquitto_property_add_int32(session-expiry)")
                }
            } _: { (list: OpaquePointer?) throws(MQTTError) in
                try MQTTError.check(
                    mosquitto_connect_bind_v5(handle, endpoint.host, Int32(endpoint.port), Int32(keepalive), nil, list),
                    "connect to \(endpoint)")
            }
        }
        if case .failure(let error) = result {
            return MQTTDisconnect(cause: .library(code: error.code), reason: error.message, wasConnected: false, requested: false)
        }
        return nil
    }

    static func publish(
        _ handle: OpaquePointer, topic: String, payload: [UInt8], qos: Int, retain: Bool, properties: MQTTPublishProperties
    ) throws(MQTTError) -> Int32 {
        var mid: Int32 = 0
        let code = try withPropertyList { (list: inout OpaquePointer?) throws(MQTTError) in
            if !properties.isEmpty { try addPublishProperties(properties, to: &list) }
        } _: { list in
            payload.withUnsafeBytes { bytes in
                mosquitto_publish_v5(handle, &mid, topic, Int32(bytes.count), bytes.baseAddress, Int32(qos), retain, list)
            }
        }
        try MQTTError.check(code, "mosquitto_publish_v5(\(topic))")
        return mid
    }

    static func connAck(code: Int32, flags: Int32, props: OpaquePointer?, version: MQTTProtocolVersion) -> MQTTConnAck {
        var reason = mqttReasonString(Int(code), protocolVersion: version)
        if let extra = readReasonString(props) { reason += ": \(extra)" }
        return MQTTConnAck(
            reasonCode: MQTTReasonCode(connAckCode: code, protocolVersion: version), sessionPresent: (flags & 1) != 0,
            reason: reason, protocolVersion: version, maximumQoS: readMaximumQoS(props))
    }

    /// Who ended the connection and in which words: the reason code of an MQTT 5 broker's
    /// DISCONNECT (such as "Session taken over"), otherwise libmosquitto's own MOSQ_ERR_*.
    static func disconnect(code: Int32, props: OpaquePointer?) -> (MQTTDisconnect.Cause, String) {
        let savedErrno = errno
        let cause = MQTTDisconnect.Cause(disconnectCallbackCode: code)
        var reason: String
        switch cause {
        case .broker(let reasonCode): reason = reasonCode.text
        case .library(let code): reason = MQTTError.describe(code: code, errno: savedErrno)
        }
        if let extra = readReasonString(props) { reason += ": \(extra)" }
        return (cause, reason)
    }

    /// A SUBACK's entries: the granted QoS or the failure, one per filter.
    static func granted(_ count: Int32, _ granted: UnsafePointer<Int32>?) -> [MQTTReasonCode] {
        (0..<Int(max(count, 0))).map { index in granted.map { MQTTReasonCode(libraryValue: $0[index]) } ?? .unspecifiedError }
    }

    /// A delivered message, copied out (libmosquitto frees it when the callback returns).
    static func copy(_ message: mosquitto_message, _ props: OpaquePointer?) -> MQTTMessage {
        let topic = message.topic.map { String(cString: $0) } ?? ""
        let payload: [UInt8] =
            message.payloadlen > 0 && message.payload != nil
            ? Array(UnsafeRawBufferPointer(start: message.payload, count: Int(message.payloadlen))) : []
        let (correlation, expiry) = readMessageProperties(props)
        return MQTTMessage(
            topic: topic, payload: payload, qos: Int(message.qos), retain: message.retain, correlationData: correlation,
            messageExpiryInterval: expiry)
    }
}
