@testable import HatchlingAgent
import Testing

@Suite("TakeoverDetector")
struct TakeoverDetectorTests {
    @Test("three unrequested losses of accepted connections within the window are a ping-pong")
    func threshold() {
        var detector = TakeoverDetector()
        let r1 = detector.record(code: 7, requested: false, at: 0)
        #expect(!r1)
        let r2 = detector.record(code: 7, requested: false, at: 1)
        #expect(!r2)
        let r3 = detector.record(code: 7, requested: false, at: 2)
        #expect(r3)
    }

    @Test("losses we asked for, and clean ends, do not count; old losses leave the window")
    func ignored() {
        var detector = TakeoverDetector()
        let r4 = detector.record(code: 0, requested: true, at: 0)
        #expect(!r4)
        let r5 = detector.record(code: 7, requested: true, at: 1)
        #expect(!r5)
        let r6 = detector.record(code: 7, requested: false, at: 2)
        #expect(!r6)
        let r7 = detector.record(code: 7, requested: false, at: 3)
        #expect(!r7)
        let r8 = detector.record(code: 7, requested: false, at: 100)
        #expect(!r8, "the two earlier losses are over 60 s old")
    }

    @Test("an MQTT 5 'session taken over' is conclusive at once; reset starts over")
    func takenOver() {
        var detector = TakeoverDetector()
        let r9 = detector.record(code: TakeoverDetector.sessionTakenOver, requested: false, at: 0)
        #expect(r9)
        detector.reset()
        let r10 = detector.record(code: 7, requested: false, at: 1)
        #expect(!r10)
    }

    @Test("a loss before the subscription is acknowledged is the broker's doing; after it, unexplained; 142 is a takeover")
    func classify() {
        #expect(TakeoverDetector.classify(code: 7, requested: false, subscriptionAcknowledged: false) == .droppedAtSubscription)
        #expect(TakeoverDetector.classify(code: 7, requested: false, subscriptionAcknowledged: true) == .unexplained)
        #expect(
            TakeoverDetector.classify(code: TakeoverDetector.sessionTakenOver, requested: false, subscriptionAcknowledged: false)
                == .takenOver)
        #expect(TakeoverDetector.classify(code: 7, requested: true, subscriptionAcknowledged: false) == .requested)
        #expect(TakeoverDetector.classify(code: 0, requested: false, subscriptionAcknowledged: false) == .requested)
    }
}
