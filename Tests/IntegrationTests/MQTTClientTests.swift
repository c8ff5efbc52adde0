import FleetProtocol
import MosquittoClient
import Testing

@Suite("MQTTClient against a real broker")
struct MQTTClientTests {
    @Test("a publish-ack filter keeps the acknowledgements it refuses out of events, and only those")
    func publishAckFilter() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: [])
            defer { hub.close() }
            // The filter decides on the message id alone, so what it passes does not depend on timing.
            hub.client.setPublishAckFilter { mid, reasonCode in reasonCode >= 128 || mid % 2 == 0 }
            var mids: [Int32] = []
            for text in ["one", "two", "three", "four"] {
                mids.append(try hub.client.publish(topic: "test/filtered", payload: Array(text.utf8), qos: 1))
            }
            // (MQTT 5 reason 16, "no matching subscribers", is a success: under 128.)
            // PUBACKs come back in order on one connection: once the last even one is in, every
            // earlier callback has run, and the odd ones were kept out.
            let lastPassed = try #require(mids.filter { $0 % 2 == 0 }.max())
            #expect(try await hub.waitForAck(lastPassed) < 128)
            let kept = mids.filter { $0 % 2 != 0 && $0 < lastPassed }
            #expect(!kept.isEmpty)
            for mid in kept { #expect(hub.ack(for: mid) == nil, "the PUBACK of \(mid) reached events") }
            hub.client.setPublishAckFilter(nil)
            let third = try hub.client.publish(topic: "test/filtered", payload: Array("three".utf8), qos: 1)
            #expect(try await hub.waitForAck(third) < 128)
        }
    }
}
