import Testing

@testable import HatchlingAgent

/// Takes one token at each instant and says which takes succeeded (mutating calls cannot sit inside `#expect`).
func takes(_ bucket: inout TokenBucket, at times: [Double]) -> [Bool] {
    times.map { bucket.take(now: $0) }
}

@Suite("TokenBucket")
struct TokenBucketTests {
    @Test("a burst, then refusal at the same instant")
    func burstThenRefusal() {
        var bucket = TokenBucket(rate: 1, burst: 3)
        #expect(takes(&bucket, at: [100, 100, 100, 100, 100]) == [true, true, true, false, false])
    }

    @Test("tokens come back at the rate, never above the burst")
    func refill() {
        var bucket = TokenBucket(rate: 2, burst: 3)
        #expect(takes(&bucket, at: [0, 0, 0]) == [true, true, true])
        // Half a token is not a token; one comes back after half a second at 2 per second.
        #expect(takes(&bucket, at: [0.25, 0.5, 0.5]) == [false, true, false])
        // A long pause fills the bucket to the burst and no further.
        #expect(takes(&bucket, at: [1000, 1000, 1000, 1000]) == [true, true, true, false])
    }

    @Test("a clock that goes backwards adds nothing")
    func backwards() {
        var bucket = TokenBucket(rate: 1, burst: 1)
        #expect(takes(&bucket, at: [10, 5, 5.9]) == [true, false, false])
    }

    @Test("rate 0 is unlimited")
    func unlimited() {
        var bucket = TokenBucket(rate: 0, burst: 1)
        #expect(takes(&bucket, at: Array(repeating: 0, count: 10_000)).allSatisfy { $0 })
    }

    @Test("a burst under 1 is treated as 1")
    func minimumBurst() {
        var bucket = TokenBucket(rate: 1, burst: 0)
        #expect(bucket.burst == 1)
        #expect(takes(&bucket, at: [0, 0]) == [true, false])
    }

    @Test("reconfigure keeps earned tokens up to the new burst, and can lift the limit")
    func reconfigure() {
        var bucket = TokenBucket(rate: 1, burst: 10)
        bucket.reconfigure(rate: 1, burst: 2)
        #expect(bucket.rate == 1 && bucket.burst == 2)
        #expect(takes(&bucket, at: [0, 0, 0]) == [true, true, false])
        bucket.reconfigure(rate: 0, burst: 2)
        #expect(takes(&bucket, at: Array(repeating: 0, count: 100)).allSatisfy { $0 })
        // Back on: the tokens are as they were (none), and come back at the rate.
        bucket.reconfigure(rate: 1, burst: 5)
        #expect(takes(&bucket, at: [0, 1, 1]) == [false, true, false])
    }
}

@Suite("RecentResponses")
struct RecentResponsesTests {
    @Test("the oldest id is evicted above capacity")
    func capacity() {
        var recent = RecentResponses(capacity: 2, lifetime: 600)
        recent.remember([1], for: "a", now: 0)
        recent.remember([2], for: "b", now: 0)
        recent.remember([3], for: "c", now: 0)
        #expect(recent.count == 2)
        #expect(recent.response(for: "a", now: 0) == nil)
        #expect(recent.response(for: "b", now: 0) == [2])
        #expect(recent.response(for: "c", now: 0) == [3])
        recent.remember([4], for: "d", now: 0)
        #expect(recent.response(for: "b", now: 0) == nil)
        #expect(recent.response(for: "d", now: 0) == [4])
    }

    @Test("eviction stays correct over many ids, and an evicted id can come back")
    func manyIDs() {
        var recent = RecentResponses(capacity: 3, lifetime: 600)
        for i in 0..<100 { recent.remember([UInt8(i)], for: "id-\(i)", now: Double(i)) }
        #expect(recent.count == 3)
        #expect((97..<100).allSatisfy { recent.response(for: "id-\($0)", now: 100) == [UInt8($0)] })
        #expect(recent.response(for: "id-96", now: 100) == nil)
        recent.remember([0], for: "id-0", now: 100)
        #expect(recent.response(for: "id-0", now: 100) == [0])
        #expect(recent.response(for: "id-97", now: 100) == nil)
        #expect(recent.count == 3)
    }

    @Test("an entry expires after its lifetime")
    func lifetime() {
        var recent = RecentResponses(capacity: 10, lifetime: 10)
        recent.remember([7], for: "a", now: 100)
        #expect(recent.response(for: "a", now: 105) == [7])
        #expect(recent.response(for: "a", now: 110) == [7])
        #expect(recent.response(for: "a", now: 110.001) == nil)
        #expect(recent.response(for: "b", now: 100) == nil)
    }

    @Test("remembering an id again replaces its response and restarts its lifetime")
    func replace() {
        var recent = RecentResponses(capacity: 10, lifetime: 10)
        recent.remember([1], for: "a", now: 0)
        recent.remember([2], for: "a", now: 8)
        #expect(recent.count == 1)
        #expect(recent.response(for: "a", now: 15) == [2])
    }
}

@Suite("ReconnectBackoff")
struct ReconnectBackoffTests {
    @Test("the ceiling doubles from 0.5 s up to the cap, and stays there")
    func ceilings() {
        var backoff = ReconnectBackoff(cap: 30)
        var ceilings: [Double] = []
        for _ in 0..<9 {
            ceilings.append(backoff.ceiling)
            _ = backoff.next(random: { $0.upperBound })
        }
        #expect(ceilings == [0.5, 1, 2, 4, 8, 16, 30, 30, 30])
        for _ in 0..<100 { _ = backoff.next(random: { $0.upperBound }) }
        #expect(backoff.ceiling == 30, "no overflow after many attempts")
        #expect(backoff.attempt == 109)
    }

    @Test("full jitter: the wait is drawn from 0 to the ceiling with the injected random")
    func jitter() {
        var backoff = ReconnectBackoff(initial: 0.5, cap: 4)
        var ranges: [ClosedRange<Double>] = []
        let waits = (0..<5).map { _ in
            backoff.next(random: { range in
                ranges.append(range)
                return range.upperBound / 4
            })
        }
        #expect(ranges == [0...0.5, 0...1, 0...2, 0...4, 0...4])
        #expect(waits == [0.125, 0.25, 0.5, 1, 1])
    }

    @Test("the wait is at most as long as the outage so far (at least the initial 0.5 s), under the exponent and the cap")
    func boundedByOutage() {
        var backoff = ReconnectBackoff(initial: 0.5, cap: 30)
        for _ in 0..<6 { _ = backoff.next(random: { $0.lowerBound }) }
        #expect(backoff.ceiling == 30)
        var ranges: [ClosedRange<Double>] = []
        for outage in [0.0, 0.2, 1.0, 7.5, 100] {
            _ = backoff.next(
                outage: outage,
                random: { range in
                    ranges.append(range)
                    return range.upperBound
                })
        }
        #expect(ranges == [0...0.5, 0...0.5, 0...1, 0...7.5, 0...30])
        backoff.reset()
        #expect(backoff.next(outage: 100, random: { $0.upperBound }) == 0.5, "early attempts keep the exponent's smaller ceiling")
    }

    @Test("the default random stays within the range")
    func defaultRandom() {
        var backoff = ReconnectBackoff(cap: 2)
        for _ in 0..<50 {
            let ceiling = backoff.ceiling
            let wait = backoff.next()
            #expect(wait >= 0 && wait <= ceiling)
        }
    }

    @Test("reset starts again from the initial ceiling")
    func reset() {
        var backoff = ReconnectBackoff(cap: 30)
        for _ in 0..<5 { _ = backoff.next(random: { $0.lowerBound }) }
        #expect(backoff.ceiling == 16)
        backoff.reset()
        #expect(backoff.attempt == 0)
        #expect(backoff.ceiling == 0.5)
        let wait = backoff.next(random: { $0.upperBound })
        #expect(wait == 0.5)
    }
}
