import CMosquitto
import HatchlingSystem

/// A libmosquitto call that did not succeed: which call, its return code and the library's own words.
public struct MQTTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The libmosquitto function (or step) that failed, for example `mosquitto_publish_v5`.
    public var operation: String
    /// The `MOSQ_ERR_*` value the call returned.
    public var code: Int32
    /// `mosquitto_strerror(code)`, or `strerror(errno)` when the library says the cause is in `errno`.
    public var message: String

    /// Creates an error from parts already known (tests, or events that carry a code).
    public init(operation: String, code: Int32, message: String) {
        self.operation = operation
        self.code = code
        self.message = message
    }

    /// Describes a libmosquitto return code; reads `errno` at once when the code says to.
    public init(operation: String, code: Int32) {
        let savedErrno = errno
        self.operation = operation
        self.code = code
        self.message = MQTTError.describe(code: code, errno: savedErrno)
    }

    /// Throws unless `code` is `MOSQ_ERR_SUCCESS`. The one place return codes become errors.
    /// `errno` is read before `operation` builds its text, which may allocate and change it.
    @inline(__always)
    static func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(MQTTError) {
        if code != MOSQ_ERR_SUCCESS.rawValue {
            let savedErrno = errno
            throw MQTTError(operation: operation(), code: code, message: describe(code: code, errno: savedErrno))
        }
    }

    /// The text for a `MOSQ_ERR_*` code; `errno` is consulted for `MOSQ_ERR_ERRNO`.
    public static func describe(code: Int32, errno savedErrno: Int32 = 0) -> String {
        if code == MOSQ_ERR_ERRNO.rawValue, savedErrno != 0, let text = strerror(savedErrno) {
            return String(cString: text)
        }
        let text = mosquitto_strerror(code).map { String(cString: $0) } ?? ""
        // libmosquitto 2.0.11 has no text for some of its own codes.
        if text.isEmpty || text.hasPrefix("Unknown error") {
            switch code {
            case MOSQ_ERR_KEEPALIVE.rawValue: return "no answer from the broker within the keepalive (the link is down or frozen)"
            case MOSQ_ERR_LOOKUP.rawValue: return "host name lookup failed"
            case MOSQ_ERR_MALFORMED_PACKET.rawValue: return "malformed packet"
            case MOSQ_ERR_TLS_HANDSHAKE.rawValue: return "TLS handshake failed"
            case MOSQ_ERR_TIMEOUT.rawValue: return "timed out"
            case MOSQ_ERR_ADMINISTRATIVE_ACTION.rawValue: return "disconnected by the broker's administrator"
            default: return "libmosquitto error \(code)"
            }
        }
        return text
    }

    public var description: String { "\(operation) failed: \(message) (code \(code))" }
}

/// The text for an MQTT 5 reason code (`MQTTReasonCode.text`, the one table of them) or, under
/// 3.1.1, libmosquitto's for a CONNACK return code (a code space of its own: 5 is "not authorised").
public func mqttReasonString(_ reasonCode: Int, protocolVersion: MQTTProtocolVersion) -> String {
    switch protocolVersion {
    case .v5:
        guard let byte = UInt8(exactly: reasonCode) else { return "reason \(reasonCode)" }
        return MQTTReasonCode(rawValue: byte).text
    case .v311:
        return mosquitto_connack_string(Int32(reasonCode)).map { String(cString: $0) } ?? "code \(reasonCode)"
    }
}
