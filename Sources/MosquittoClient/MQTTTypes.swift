import CMosquitto

/// MQTT protocol version spoken to the broker.
public enum MQTTProtocolVersion: String, Sendable, Equatable, CustomStringConvertible {
    case v311 = "3.1.1"
    case v5 = "5"

    public var description: String { rawValue }
}

/// Which protocol to speak: `MQTT_PROTOCOL` (agent and fleetctl read it the same way).
public enum MQTTProtocolChoice: String, Sendable, Equatable, CustomStringConvertible {
    /// MQTT 5 first; 3.1.1 with a broker that refuses 5, closes the connection before its CONNACK,
    /// or sends no CONNACK within the connect timeout (RabbitMQ 3.10, amqtt). The default.
    case auto
    /// Only MQTT 5.
    case v5 = "5"
    /// Only MQTT 3.1.1.
    case v311 = "3.1.1"

    public var description: String { rawValue }

    /// The rule a bad value breaks, for the error message.
    public static let rule = "must be auto, 5 or 3.1.1"

    /// Parses a setting: `auto`, `5` (`5.0`), `3.1.1` (`311`, or `4`, its protocol level); nil otherwise.
    public init?(setting text: String) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "5", "5.0": self = .v5
        case "3.1.1", "311", "4": self = .v311
        default: return nil
        }
    }
}

/// A delivered message, copied out of libmosquitto's callback (its memory is freed when it returns).
public struct MQTTMessage: Sendable, Equatable {
    /// Topic the message was published on.
    public var topic: String
    /// The payload bytes, as received.
    public var payload: [UInt8]
    /// QoS of the delivery.
    public var qos: Int
    /// Whether this is a retained message delivered on subscribe.
    public var retain: Bool
    /// MQTT 5 correlation data, when the publisher set it.
    public var correlationData: [UInt8]?
    /// MQTT 5 message expiry interval left, in seconds, when the publisher set one.
    public var messageExpiryInterval: UInt32?

    /// Creates a message (tests and in-memory transports build them by hand).
    public init(
        topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = false,
        correlationData: [UInt8]? = nil, messageExpiryInterval: UInt32? = nil
    ) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.correlationData = correlationData
        self.messageExpiryInterval = messageExpiryInterval
    }
}

/// The broker's answer to CONNECT.
public struct MQTTConnAck: Sendable, Equatable {
    /// `success` when accepted; otherwise why not, in MQTT 5 terms: under 3.1.1 the CONNACK's
    /// return code is translated (`MQTTReasonCode(connAckCode:protocolVersion:)`), and `reason`
    /// keeps its 3.1.1 words.
    public var reasonCode: MQTTReasonCode
    /// Whether the broker still had this client's session (and its queued messages).
    public var sessionPresent: Bool
    /// Text for the code in the protocol version spoken, plus the broker's reason string when it sent one.
    public var reason: String
    /// Protocol version the CONNECT used.
    public var protocolVersion: MQTTProtocolVersion
    /// The highest QoS the broker accepts (MQTT 5 CONNACK property); nil means 2, no limit.
    public var maximumQoS: Int?

    public init(
        reasonCode: MQTTReasonCode, sessionPresent: Bool, reason: String, protocolVersion: MQTTProtocolVersion,
        maximumQoS: Int? = nil
    ) {
        self.reasonCode = reasonCode
        self.sessionPresent = sessionPresent
        self.reason = reason
        self.protocolVersion = protocolVersion
        self.maximumQoS = maximumQoS
    }

    public var accepted: Bool { reasonCode == .success }

    /// A broker that speaks only MQTT 3.1.1 answers a version 5 CONNECT with "unacceptable
    /// protocol version" (its code 1, translated) or, in MQTT 5 terms, unsupported protocol version.
    public var refusedProtocolVersion: Bool {
        protocolVersion == .v5 && reasonCode == .unsupportedProtocolVersion
    }
}

/// How a connection attempt or a connection ended.
public struct MQTTDisconnect: Sendable, Equatable {
    /// Who ended it, and with which code.
    public enum Cause: Sendable, Hashable, CustomStringConvertible {
        /// libmosquitto's own `MOSQ_ERR_*` code: the attempt failed or the connection was lost on
        /// this side (`MOSQ_ERR_SUCCESS`, 0, for a disconnect we asked for).
        case library(code: Int32)
        /// The reason code of the broker's MQTT 5 DISCONNECT (such as `sessionTakenOver`).
        case broker(MQTTReasonCode)

        /// How libmosquitto's disconnect callback reports it: the reason code of an MQTT 5
        /// broker's DISCONNECT (always a failure code: it calls back with `MOSQ_ERR_SUCCESS` for a
        /// normal one), otherwise its own `MOSQ_ERR_*`, all of which are below the failure codes.
        init(disconnectCallbackCode code: Int32) {
            if let byte = UInt8(exactly: code), MQTTReasonCode(rawValue: byte).isFailure {
                self = .broker(MQTTReasonCode(rawValue: byte))
            } else {
                self = .library(code: code)
            }
        }

        /// True for an orderly end: `MOSQ_ERR_SUCCESS`, or a broker's normal disconnection.
        public var isClean: Bool {
            switch self {
            case .library(let code): code == MOSQ_ERR_SUCCESS.rawValue
            case .broker(let reasonCode): reasonCode == .normalDisconnection
            }
        }

        /// The number as libmosquitto reported it, for logs (`mqtt.code`); compare the cases, not this.
        public var rawCode: Int32 {
            switch self {
            case .library(let code): code
            case .broker(let reasonCode): Int32(reasonCode.rawValue)
            }
        }

        /// "The connection was lost. (libmosquitto code 7)", "Session taken over (reason code 142)".
        public var description: String {
            switch self {
            case .library(let code): "\(MQTTError.describe(code: code)) (libmosquitto code \(code))"
            case .broker(let reasonCode): reasonCode.description
            }
        }
    }

    /// Who ended it, and with which code (`.library(code: 0)` for a disconnect we asked for).
    public var cause: Cause
    /// Human-readable cause.
    public var reason: String
    /// False when the attempt never reached the broker (refused TCP connect, DNS failure).
    public var wasConnected: Bool
    /// True when this end asked for the disconnect.
    public var requested: Bool
    /// Whether the broker answered CONNECT with a CONNACK during this attempt (accepted or not).
    /// False with `wasConnected` true: the broker closed the connection before answering, or
    /// never answered (`connAckTimedOut`). Brokers that speak only 3.1.1 do either to an MQTT 5
    /// CONNECT.
    public var connAckReceived: Bool
    /// True when no CONNACK came within the client's `connectTimeout` and the client gave up.
    public var connAckTimedOut: Bool

    public init(
        cause: Cause, reason: String, wasConnected: Bool, requested: Bool, connAckReceived: Bool = false,
        connAckTimedOut: Bool = false
    ) {
        self.cause = cause
        self.reason = reason
        self.wasConnected = wasConnected
        self.requested = requested
        self.connAckReceived = connAckReceived
        self.connAckTimedOut = connAckTimedOut
    }

    /// True when the broker took the TCP connection but never accepted or refused the CONNECT.
    public var endedBeforeConnAck: Bool { wasConnected && !connAckReceived }
}

/// Everything the client reports, in order, on its `events` stream.
public enum MQTTEvent: Sendable {
    /// CONNACK received (accepted or refused).
    case connAck(MQTTConnAck)
    /// A connect attempt failed or a connection ended. Exactly one per `connect` request.
    case disconnected(MQTTDisconnect)
    /// A message arrived on a subscription.
    case message(MQTTMessage)
    /// A QoS 1/2 publish was acknowledged (QoS 0: sent). `reasonCode` is the MQTT 5 PUBACK's
    /// (`notAuthorized` when the ACL denies it); `success` under 3.1.1, whose PUBACK has none.
    case published(messageID: Int32, reasonCode: MQTTReasonCode)
    /// A SUBSCRIBE was acknowledged: one entry per filter, the granted QoS (`grantedQoS0` to
    /// `grantedQoS2`) or a refusal (`isFailure`; under 3.1.1 always `unspecifiedError`, 0x80).
    case subscribed(messageID: Int32, grantedQoS: [MQTTReasonCode])
}

/// The Last Will: what the broker publishes for us when the connection is lost without DISCONNECT.
public struct MQTTWill: Sendable, Equatable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: Int
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: Int = 1, retain: Bool = true) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// MQTT 5 properties of a PUBLISH. Ignored under 3.1.1.
public struct MQTTPublishProperties: Sendable, Equatable {
    /// Seconds after which the broker drops the message (and a retained copy).
    public var messageExpiryInterval: UInt32?
    /// Opaque bytes echoed from a request to its response.
    public var correlationData: [UInt8]?

    public init(messageExpiryInterval: UInt32? = nil, correlationData: [UInt8]? = nil) {
        self.messageExpiryInterval = messageExpiryInterval
        self.correlationData = correlationData
    }

    var isEmpty: Bool { messageExpiryInterval == nil && correlationData == nil }
}

/// TLS settings: CA file to verify the broker, and an optional client certificate and key.
public struct MQTTTLSOptions: Sendable, Equatable {
    public var caFile: String
    public var certFile: String?
    public var keyFile: String?

    public init(caFile: String, certFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
    }
}

/// Everything fixed for the life of one client handle.
public struct MQTTClientOptions: Sendable {
    public var clientID: String
    public var protocolVersion: MQTTProtocolVersion
    /// False keeps the session (and queued QoS 1 messages) across disconnects.
    public var cleanSession: Bool
    /// MQTT 5 session expiry sent on every CONNECT when `cleanSession` is false.
    public var sessionExpiryInterval: UInt32
    public var username: String?
    public var password: String?
    public var tls: MQTTTLSOptions?
    /// Off adds Nagle's delay (about 44 ms) to every small request and reply.
    public var tcpNoDelay: Bool
    public var will: MQTTWill?
    /// Seconds to wait for the CONNACK after the TCP connection is made (`MQTT_CONNECT_TIMEOUT`),
    /// separately from the keepalive: a broker that never answers a CONNECT is given up on then.
    public var connectTimeout: Double
    /// MQTT 5 maximum packet size sent in CONNECT: the broker must not deliver anything larger
    /// (it drops such a message for this client instead). Nil sends none.
    public var maximumPacketSize: UInt32?

    public init(
        clientID: String,
        protocolVersion: MQTTProtocolVersion = .v5,
        cleanSession: Bool = false,
        sessionExpiryInterval: UInt32 = 7 * 24 * 3600,
        username: String? = nil,
        password: String? = nil,
        tls: MQTTTLSOptions? = nil,
        tcpNoDelay: Bool = true,
        will: MQTTWill? = nil,
        connectTimeout: Double = 10,
        maximumPacketSize: UInt32? = nil
    ) {
        self.connectTimeout = connectTimeout
        self.maximumPacketSize = maximumPacketSize
        self.clientID = clientID
        self.protocolVersion = protocolVersion
        self.cleanSession = cleanSession
        self.sessionExpiryInterval = sessionExpiryInterval
        self.username = username
        self.password = password
        self.tls = tls
        self.tcpNoDelay = tcpNoDelay
        self.will = will
    }
}

/// A broker address.
public struct MQTTEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

extension MQTTEndpoint {
    /// Why a broker list does not parse: the rule it breaks, for a message that names the setting.
    public struct ListError: Error, Sendable, Equatable {
        public var problem: String
    }

    /// Parses `host[:port],host[:port]` (`[v6]:port` for IPv6 addresses); hosts listed without a
    /// port get `defaultPort`. The one parser of `MQTT_HOST`, for the agent and fleetctl alike.
    public static func parseList(_ text: String, defaultPort: Int) throws(ListError) -> [MQTTEndpoint] {
        var endpoints: [MQTTEndpoint] = []
        func fail(_ problem: String) -> ListError { ListError(problem: problem) }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = item.filter { $0 != " " && $0 != "\t" }
            var host = Substring(entry)
            var port = defaultPort
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]") else { throw fail("has an unclosed '[' in an IPv6 address") }
                host = entry[entry.index(after: entry.startIndex)..<close]
                let after = entry[entry.index(after: close)...]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let value = Int(after.dropFirst()), (1...65535).contains(value) else {
                        throw fail("has a port that is not a number from 1 to 65535")
                    }
                    port = value
                }
            } else if let colon = entry.firstIndex(of: ":") {
                guard entry.lastIndex(of: ":") == colon else { throw fail("must write IPv6 addresses as [address]:port") }
                host = entry[..<colon]
                guard let value = Int(entry[entry.index(after: colon)...]), (1...65535).contains(value) else {
                    throw fail("has a port that is not a number from 1 to 65535")
                }
                port = value
            }
            guard !host.isEmpty, host.utf8.count <= 253, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
                throw fail("must list host names or addresses as host[:port],host[:port]")
            }
            endpoints.append(MQTTEndpoint(host: String(host), port: port))
        }
        return endpoints
    }
}
