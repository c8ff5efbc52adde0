import CMosquitto
import Testing

@testable import MosquittoClient

@Suite("MQTTReasonCode")
struct MQTTReasonCodeTests {
    @Test("named values carry the MQTT 5 numbers and libmosquitto's words")
    func named() {
        #expect(MQTTReasonCode.success.rawValue == 0)
        #expect(MQTTReasonCode.normalDisconnection == .success && MQTTReasonCode.grantedQoS0 == .success)
        #expect(MQTTReasonCode.grantedQoS1.rawValue == 1 && MQTTReasonCode.grantedQoS2.rawValue == 2)
        #expect(MQTTReasonCode.noMatchingSubscribers.rawValue == 16)
        #expect(MQTTReasonCode.unspecifiedError.rawValue == 128)
        #expect(MQTTReasonCode.unsupportedProtocolVersion.rawValue == 132)
        #expect(MQTTReasonCode.notAuthorized.rawValue == 135)
        #expect(MQTTReasonCode.sessionTakenOver.rawValue == 142)
        #expect(MQTTReasonCode.connectionRateExceeded.rawValue == 159)
        #expect(MQTTReasonCode.notAuthorized.text == "Not authorized")
        #expect(MQTTReasonCode.sessionTakenOver.text == "Session taken over")
        #expect(MQTTReasonCode.badUserNameOrPassword.text == "Bad User Name or Password")
        #expect(MQTTReasonCode.noMatchingSubscribers.text == "No matching subscribers")
    }

    @Test("the description puts the number next to the words")
    func description() {
        #expect(MQTTReasonCode.notAuthorized.description == "Not authorized (reason code 135)")
        #expect("\(MQTTReasonCode.success)" == "Success (reason code 0)")
    }

    @Test("0x80 and up are failures; granted QoS and 'no matching subscribers' are not")
    func failure() {
        for code in [MQTTReasonCode.success, .grantedQoS1, .grantedQoS2, .noMatchingSubscribers, .disconnectWithWillMessage] {
            #expect(!code.isFailure, "\(code)")
        }
        for code in [MQTTReasonCode.unspecifiedError, .notAuthorized, .sessionTakenOver, .quotaExceeded, .connectionRateExceeded] {
            #expect(code.isFailure, "\(code)")
        }
        #expect(!MQTTReasonCode(rawValue: 0x7F).isFailure)
        #expect(MQTTReasonCode(rawValue: 0xFF).isFailure)
    }

    @Test("a value the table does not name stays representable, comparable and described")
    func unknown() {
        let odd = MQTTReasonCode(rawValue: 200)
        #expect(odd.rawValue == 200)
        #expect(odd == MQTTReasonCode(rawValue: 200) && odd != .unspecifiedError)
        #expect(odd.isFailure)
        #expect(odd.text == "Unknown reason")
        #expect(odd.description == "Unknown reason (reason code 200)")
        #expect(MQTTReasonCode(rawValue: 3).text == "Unknown reason" && !MQTTReasonCode(rawValue: 3).isFailure)
        #expect(Set([odd, MQTTReasonCode(rawValue: 200), .notAuthorized]).count == 2)
    }

    @Test("the table is libmosquitto's: mqttReasonString reads it, and matches the library for every byte")
    func oneTable() {
        for byte in UInt8.min...UInt8.max {
            let text = MQTTReasonCode(rawValue: byte).text
            #expect(mqttReasonString(Int(byte), protocolVersion: .v5) == text)
            let library = mosquitto_reason_string(Int32(byte)).map { String(cString: $0) }
            #expect(library == text, "reason code \(byte)")
        }
    }

    @Test("a 3.1.1 CONNACK return code becomes its MQTT 5 equivalent; an MQTT 5 one stays as it is")
    func connAck() {
        let v311: [(Int32, MQTTReasonCode)] = [
            (0, .success), (1, .unsupportedProtocolVersion), (2, .clientIdentifierNotValid), (3, .serverUnavailable),
            (4, .badUserNameOrPassword), (5, .notAuthorized), (6, .unspecifiedError), (135, .unspecifiedError),
        ]
        for (code, expected) in v311 {
            #expect(MQTTReasonCode(connAckCode: code, protocolVersion: .v311) == expected, "3.1.1 code \(code)")
        }
        #expect(MQTTReasonCode(connAckCode: 5, protocolVersion: .v311).isFailure, "3.1.1's 5 is a refusal, not a v5 success")
        #expect(MQTTReasonCode(connAckCode: 0, protocolVersion: .v5) == .success)
        #expect(MQTTReasonCode(connAckCode: 135, protocolVersion: .v5) == .notAuthorized)
        #expect(MQTTReasonCode(connAckCode: 132, protocolVersion: .v5) == .unsupportedProtocolVersion)
        #expect(MQTTReasonCode(connAckCode: 1, protocolVersion: .v5) == .unsupportedProtocolVersion, "a 3.1.1 broker's answer")
        #expect(MQTTReasonCode(connAckCode: 200, protocolVersion: .v5) == MQTTReasonCode(rawValue: 200))
    }

    @Test("a CONNACK refuses MQTT 5 only under MQTT 5, and is accepted only with success")
    func connAckFlags() {
        let refused = MQTTConnAck(
            reasonCode: .unsupportedProtocolVersion, sessionPresent: false, reason: "", protocolVersion: .v5)
        #expect(refused.refusedProtocolVersion && !refused.accepted)
        let old = MQTTConnAck(
            reasonCode: MQTTReasonCode(connAckCode: 1, protocolVersion: .v311), sessionPresent: false, reason: "",
            protocolVersion: .v311)
        #expect(!old.refusedProtocolVersion && !old.accepted)
        #expect(MQTTConnAck(reasonCode: .success, sessionPresent: true, reason: "", protocolVersion: .v311).accepted)
    }

    @Test("the disconnect callback's code: a failure reason code is the broker's, anything else libmosquitto's")
    func disconnectCause() {
        #expect(MQTTDisconnect.Cause(disconnectCallbackCode: 142) == .broker(.sessionTakenOver))
        #expect(MQTTDisconnect.Cause(disconnectCallbackCode: 135) == .broker(.notAuthorized))
        #expect(MQTTDisconnect.Cause(disconnectCallbackCode: 7) == .library(code: 7))
        #expect(MQTTDisconnect.Cause(disconnectCallbackCode: 0) == .library(code: 0))
        #expect(MQTTDisconnect.Cause(disconnectCallbackCode: -4) == .library(code: -4))
        #expect(MQTTDisconnect.Cause(disconnectCallbackCode: 300) == .library(code: 300))
        #expect(MQTTDisconnect.Cause.library(code: 0).isClean && MQTTDisconnect.Cause.broker(.normalDisconnection).isClean)
        #expect(!MQTTDisconnect.Cause.library(code: 7).isClean && !MQTTDisconnect.Cause.broker(.sessionTakenOver).isClean)
        #expect(MQTTDisconnect.Cause.broker(.sessionTakenOver).rawCode == 142)
        #expect(MQTTDisconnect.Cause.library(code: 19).rawCode == 19)
        #expect(MQTTDisconnect.Cause.broker(.sessionTakenOver).description == "Session taken over (reason code 142)")
        #expect(MQTTDisconnect.Cause.library(code: 7).description.hasSuffix("(libmosquitto code 7)"))
    }
}
