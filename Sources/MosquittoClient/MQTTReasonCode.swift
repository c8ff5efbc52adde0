/// An MQTT 5 reason code: the byte a broker puts in CONNACK, PUBACK, SUBACK (one per filter) and
/// DISCONNECT. Values under 0x80 report success, 0x80 and up failure.
///
/// An open set: a broker may send a value this table does not name, and it stays representable
/// (`MQTTReasonCode(rawValue: 200)`); code compares against the named members, never numbers.
/// The texts are libmosquitto's (`mosquitto_reason_string`), so logs and documentation keep their
/// words; `mqttReasonString` reads them from here too.
public struct MQTTReasonCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    /// A value as libmosquitto's callbacks pass it (an `int` holding one byte of the packet).
    init(libraryValue: Int32) {
        self.init(rawValue: UInt8(truncatingIfNeeded: libraryValue))
    }

    // Success (under 0x80).
    public static let success = MQTTReasonCode(rawValue: 0x00)
    /// The same byte in a DISCONNECT.
    public static let normalDisconnection = success
    /// The same byte in a SUBACK.
    public static let grantedQoS0 = success
    public static let grantedQoS1 = MQTTReasonCode(rawValue: 0x01)
    public static let grantedQoS2 = MQTTReasonCode(rawValue: 0x02)
    public static let disconnectWithWillMessage = MQTTReasonCode(rawValue: 0x04)
    /// PUBACK: accepted, but nobody subscribes to the topic. A success.
    public static let noMatchingSubscribers = MQTTReasonCode(rawValue: 0x10)
    public static let noSubscriptionExisted = MQTTReasonCode(rawValue: 0x11)
    public static let continueAuthentication = MQTTReasonCode(rawValue: 0x18)
    public static let reAuthenticate = MQTTReasonCode(rawValue: 0x19)

    // Failure (0x80 and up).
    /// Also a SUBACK's "refused" under MQTT 3.1.1 (the same byte).
    public static let unspecifiedError = MQTTReasonCode(rawValue: 0x80)
    public static let malformedPacket = MQTTReasonCode(rawValue: 0x81)
    public static let protocolError = MQTTReasonCode(rawValue: 0x82)
    public static let implementationSpecificError = MQTTReasonCode(rawValue: 0x83)
    public static let unsupportedProtocolVersion = MQTTReasonCode(rawValue: 0x84)
    public static let clientIdentifierNotValid = MQTTReasonCode(rawValue: 0x85)
    public static let badUserNameOrPassword = MQTTReasonCode(rawValue: 0x86)
    /// The broker's ACL denies it (a PUBACK or SUBACK), or the login (a CONNACK).
    public static let notAuthorized = MQTTReasonCode(rawValue: 0x87)
    public static let serverUnavailable = MQTTReasonCode(rawValue: 0x88)
    public static let serverBusy = MQTTReasonCode(rawValue: 0x89)
    public static let banned = MQTTReasonCode(rawValue: 0x8A)
    public static let serverShuttingDown = MQTTReasonCode(rawValue: 0x8B)
    public static let badAuthenticationMethod = MQTTReasonCode(rawValue: 0x8C)
    public static let keepAliveTimeout = MQTTReasonCode(rawValue: 0x8D)
    /// DISCONNECT: another connection with this client id took the session.
    public static let sessionTakenOver = MQTTReasonCode(rawValue: 0x8E)
    public static let topicFilterInvalid = MQTTReasonCode(rawValue: 0x8F)
    public static let topicNameInvalid = MQTTReasonCode(rawValue: 0x90)
    public static let packetIdentifierInUse = MQTTReasonCode(rawValue: 0x91)
    public static let packetIdentifierNotFound = MQTTReasonCode(rawValue: 0x92)
    public static let receiveMaximumExceeded = MQTTReasonCode(rawValue: 0x93)
    public static let topicAliasInvalid = MQTTReasonCode(rawValue: 0x94)
    public static let packetTooLarge = MQTTReasonCode(rawValue: 0x95)
    public static let messageRateTooHigh = MQTTReasonCode(rawValue: 0x96)
    public static let quotaExceeded = MQTTReasonCode(rawValue: 0x97)
    public static let administrativeAction = MQTTReasonCode(rawValue: 0x98)
    public static let payloadFormatInvalid = MQTTReasonCode(rawValue: 0x99)
    public static let retainNotSupported = MQTTReasonCode(rawValue: 0x9A)
    public static let qosNotSupported = MQTTReasonCode(rawValue: 0x9B)
    public static let useAnotherServer = MQTTReasonCode(rawValue: 0x9C)
    public static let serverMoved = MQTTReasonCode(rawValue: 0x9D)
    public static let sharedSubscriptionsNotSupported = MQTTReasonCode(rawValue: 0x9E)
    public static let connectionRateExceeded = MQTTReasonCode(rawValue: 0x9F)
    public static let maximumConnectTime = MQTTReasonCode(rawValue: 0xA0)
    public static let subscriptionIdentifiersNotSupported = MQTTReasonCode(rawValue: 0xA1)
    public static let wildcardSubscriptionsNotSupported = MQTTReasonCode(rawValue: 0xA2)

    /// True for 0x80 and up: a refused publish, subscription (a SUBACK's entry) or connection,
    /// or a DISCONNECT for an error.
    public var isFailure: Bool { rawValue >= 0x80 }

    /// libmosquitto's words for the code ("Not authorized"); "Unknown reason" for one it does not name.
    public var text: String {
        switch rawValue {
        case 0x00: "Success"
        case 0x01: "Granted QoS 1"
        case 0x02: "Granted QoS 2"
        case 0x04: "Disconnect with Will Message"
        case 0x10: "No matching subscribers"
        case 0x11: "No subscription existed"
        case 0x18: "Continue authentication"
        case 0x19: "Re-authenticate"
        case 0x80: "Unspecified error"
        case 0x81: "Malformed Packet"
        case 0x82: "Protocol Error"
        case 0x83: "Implementation specific error"
        case 0x84: "Unsupported Protocol Version"
        case 0x85: "Client Identifier not valid"
        case 0x86: "Bad User Name or Password"
        case 0x87: "Not authorized"
        case 0x88: "Server unavailable"
        case 0x89: "Server busy"
        case 0x8A: "Banned"
        case 0x8B: "Server shutting down"
        case 0x8C: "Bad authentication method"
        case 0x8D: "Keep Alive timeout"
        case 0x8E: "Session taken over"
        case 0x8F: "Topic Filter invalid"
        case 0x90: "Topic Name invalid"
        case 0x91: "Packet Identifier in use"
        case 0x92: "Packet Identifier not found"
        case 0x93: "Receive Maximum exceeded"
        case 0x94: "Topic Alias invalid"
        case 0x95: "Packet too large"
        case 0x96: "Message rate too high"
        case 0x97: "Quota exceeded"
        case 0x98: "Administrative action"
        case 0x99: "Payload format invalid"
        case 0x9A: "Retain not supported"
        case 0x9B: "QoS not supported"
        case 0x9C: "Use another server"
        case 0x9D: "Server moved"
        case 0x9E: "Shared Subscriptions not supported"
        case 0x9F: "Connection rate exceeded"
        case 0xA0: "Maximum connect time"
        case 0xA1: "Subscription identifiers not supported"
        case 0xA2: "Wildcard Subscriptions not supported"
        default: "Unknown reason"
        }
    }

    /// The text with the number, for messages: "Not authorized (reason code 135)".
    public var description: String { "\(text) (reason code \(rawValue))" }
}

extension MQTTReasonCode {
    /// A CONNACK's code as libmosquitto reports it, in MQTT 5 terms.
    ///
    /// MQTT 3.1.1 has return codes of its own, 0 to 5, that mean something else as MQTT 5 reason
    /// codes (3.1.1's 5, "not authorised", would be an unnamed success): each becomes its MQTT 5
    /// equivalent (1 unacceptable protocol version: `unsupportedProtocolVersion`; 2 identifier
    /// rejected: `clientIdentifierNotValid`; 3 server unavailable: `serverUnavailable`; 4 bad user
    /// name or password: `badUserNameOrPassword`; 5 not authorised: `notAuthorized`), and the
    /// reserved values 6 and up `unspecifiedError`. An MQTT 5 CONNACK has no codes from 1 to 127,
    /// so 1 to 5 under MQTT 5 are a 3.1.1 broker's answer to an MQTT 5 CONNECT, translated alike.
    public init(connAckCode code: Int32, protocolVersion: MQTTProtocolVersion) {
        switch (protocolVersion, code) {
        case (_, 0): self = .success
        case (_, 1): self = .unsupportedProtocolVersion
        case (_, 2): self = .clientIdentifierNotValid
        case (_, 3): self = .serverUnavailable
        case (_, 4): self = .badUserNameOrPassword
        case (_, 5): self = .notAuthorized
        case (.v311, _): self = .unspecifiedError
        case (.v5, _): self.init(libraryValue: code)
        }
    }
}
