import FleetProtocol
import Logging
import MosquittoClient
import Testing

@testable import HatchlingAgent

@Suite("Refusals are logged at a bounded rate")
struct RefusalLogTests {
    @Test("the first refusals of a window get a line each; the rest are summed up when the window ends")
    func limiter() {
        var log = RefusalLog()
        var lines = 0
        for index in 0..<1000 {
            let decision = log.record(code: "malformed", now: 100 + Double(index) * 0.001)
            if decision.logIt { lines += 1 }
            #expect(decision.summary == nil)
        }
        #expect(lines == RefusalLog.perWindow)
        #expect(log.suppressed == ["malformed": 1000 - RefusalLog.perWindow])
        // The timer's flush waits for the window's end, then writes the count held back once.
        var early = log
        #expect(early.flushIfDue(now: 105) == nil, "the window is still open")
        #expect(early.flushIfDue(now: 110.5) == ["malformed": 1000 - RefusalLog.perWindow])
        #expect(early.flushIfDue(now: 111) == nil)
        #expect(log.flush() == ["malformed": 1000 - RefusalLog.perWindow])
        #expect(log.flush() == nil)
        // A new window: refusals are logged again.
        #expect(log.record(code: "rate-limited", now: 111).logIt)
    }

    @Test("a window that ends with refusals held back writes their summary before the next line")
    func summaryOnNextWindow() {
        var log = RefusalLog()
        for index in 0..<(RefusalLog.perWindow + 5) { _ = log.record(code: "too-large", now: Double(index) * 0.01) }
        let next = log.record(code: "unauthorized", now: 20)
        #expect(next.summary == ["too-large": 5])
        #expect(next.logIt)
    }

    @Test("20,000 junk commands write a few dozen lines, and the counters count every one")
    func flood() async {
        let h = DispatcherHarness(rateLimit: 0, rateBurst: 1)
        for _ in 0..<20_000 {
            h.send(bytes: [0x7B])
            // Real time passes too: a flood that lasts several refusal windows.
            h.clock.advance(0.001)
        }
        h.flushRefusalLog()
        let counters = h.counters
        let written = h.log.map(\.message)
        #expect(written.count <= 100, "\(written.count) lines")
        #expect(counters.snapshot.commands["malformed"] == 20_000)
        let summed = written.filter { $0.contains("more commands refused") }
        #expect(!summed.isEmpty)
        let held = summed.compactMap { Int($0.split(separator: " ")[0]) }.reduce(0, +)
        let individually = written.filter { $0 == "command handled" }.count
        #expect(held + individually == 20_000, "every refusal is either logged or counted in a summary")
    }
}
