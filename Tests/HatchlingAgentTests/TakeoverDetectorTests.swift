import MosquittoClient
import Testing

@testable import HatchlingAgent

@Suite("TakeoverDetector")
struct TakeoverDetectorTests {
    /// libmosquitto's MOSQ_ERR_CONN_LOST: the connection went with no reason given.
    let lost = MQTTDisconnect.Cause.library(code: 7)
    /// MOSQ_ERR_SUCCESS: a disconnect we asked for.
    let clean = MQTTDisconnect.Cause.library(code: 0)
    let takenOver = MQTTDisconnect.Cause.broker(.sessionTakenOver)

    @Test("three unrequested losses of accepted connections within the window are a ping-pong")
    func threshold() {
        var detector = TakeoverDetector()
        let r1 = detector.record(cause: lost, requested: false, at: 0)
        #expect(!r1)
        let r2 = detector.record(cause: lost, requested: false, at: 1)
        #expect(!r2)
        let r3 = detector.record(cause: lost, requested: false, at: 2)
        #expect(r3)
    }

    @Test("losses we asked for, and clean ends, do not count; old losses leave the window")
    func ignored() {
        var detector = TakeoverDetector()
        let r4 = detector.record(cause: clean, requested: true, at: 0)
        #expect(!r4)
        let r5 = detector.record(cause: lost, requested: true, at: 1)
        #expect(!r5)
        let r6 = detector.record(cause: lost, requested: false, at: 2)
        #expect(!r6)
        let r7 = detector.record(cause: clean, requested: false, at: 2.5)
        #expect(!r7, "a clean end is not a loss")
        let r8 = detector.record(cause: lost, requested: false, at: 3)
        #expect(!r8)
        let r9 = detector.record(cause: lost, requested: false, at: 100)
        #expect(!r9, "the two earlier losses are over 60 s old")
    }

    @Test("an MQTT 5 'session taken over' is conclusive at once; another broker reason is not; reset starts over")
    func takenOverAtOnce() {
        var detector = TakeoverDetector()
        let r10 = detector.record(cause: takenOver, requested: false, at: 0)
        #expect(r10)
        detector.reset()
        let r11 = detector.record(cause: .broker(.serverShuttingDown), requested: false, at: 1)
        #expect(!r11)
        let r12 = detector.record(cause: lost, requested: false, at: 2)
        #expect(!r12)
    }

    @Test("a loss before the subscription is acknowledged is the broker's doing; after it, unexplained; sessionTakenOver is a takeover")
    func classify() {
        #expect(TakeoverDetector.classify(cause: lost, requested: false, subscriptionAcknowledged: false) == .droppedAtSubscription)
        #expect(TakeoverDetector.classify(cause: lost, requested: false, subscriptionAcknowledged: true) == .unexplained)
        #expect(TakeoverDetector.classify(cause: takenOver, requested: false, subscriptionAcknowledged: false) == .takenOver)
        #expect(TakeoverDetector.classify(cause: takenOver, requested: false, subscriptionAcknowledged: true) == .takenOver)
        #expect(
            TakeoverDetector.classify(cause: .broker(.notAuthorized), requested: false, subscriptionAcknowledged: true) == .unexplained,
            "only sessionTakenOver names a takeover")
        #expect(TakeoverDetector.classify(cause: lost, requested: true, subscriptionAcknowledged: false) == .requested)
        #expect(TakeoverDetector.classify(cause: clean, requested: false, subscriptionAcknowledged: false) == .requested)
        #expect(
            TakeoverDetector.classify(cause: .broker(.normalDisconnection), requested: false, subscriptionAcknowledged: true)
                == .requested)
    }
}
