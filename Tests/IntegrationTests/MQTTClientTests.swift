import FleetProtocol
import HatchlingSystem
import MosquittoClient
import Synchronization
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

extension MQTTClientTests {
    @Test("afterPendingWrites work runs on the network thread after the callback that queued it, in order")
    func afterPendingWrites() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["test/ask"])
            defer { hub.close() }
            let record = Mutex<[String]>([])
            let (done, doneSink) = AsyncStream.makeStream(of: Void.self)
            let client = hub.client
            client.setMessageHandler { message in
                guard message.topic == "test/ask" else { return false }
                let handlerThread = pthread_self()
                record.withLock { $0.append("handler") }
                _ = try? client.publish(topic: "test/answer", payload: message.payload, qos: 1)
                client.afterPendingWrites {
                    record.withLock { $0.append(pthread_equal(pthread_self(), handlerThread) != 0 ? "first, same thread" : "first, other thread") }
                }
                client.afterPendingWrites {
                    record.withLock { $0.append("second") }
                    doneSink.yield()
                }
                record.withLock { $0.append("handler returns") }
                return true
            }
            try hub.publish("test/ask", "one")
            let ran = await withTaskGroup(of: Bool.self) { group in
                group.addTask { await done.first { _ in true } != nil }
                group.addTask {
                    try? await Task.sleep(for: .seconds(15))
                    return false
                }
                defer { group.cancelAll() }
                return await group.next()!
            }
            #expect(ran, "the deferred work did not run within 15 s")
            #expect(record.withLock { $0 } == ["handler", "handler returns", "first, same thread", "second"])
        }
    }
}

extension MQTTClientTests {
    @Test("setTimer runs its work on the network thread, again and again, while connected")
    func timer() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["test/where"])
            defer { hub.close() }
            let networkThread = Mutex<pthread_t?>(nil)
            let (located, locatedSink) = AsyncStream.makeStream(of: Void.self)
            hub.client.setMessageHandler { message in
                guard message.topic == "test/where" else { return false }
                networkThread.withLock { $0 = pthread_self() }
                locatedSink.yield()
                return true
            }
            try hub.publish("test/where", "which thread?")
            for await _ in located { break }
            let runs = Mutex<[Bool]>([])  // true: ran on the network thread
            let (ticks, tickSink) = AsyncStream.makeStream(of: Int.self)
            hub.client.setTimer(interval: 0.1) {
                let count = runs.withLock { r in
                    r.append(networkThread.withLock { $0.map { pthread_equal($0, pthread_self()) != 0 } ?? false })
                    return r.count
                }
                tickSink.yield(count)
            }
            let reachedThree = await withTaskGroup(of: Bool.self) { group in
                group.addTask { await ticks.first { $0 >= 3 } != nil }
                group.addTask {
                    try? await Task.sleep(for: .seconds(15))
                    return false
                }
                defer { group.cancelAll() }
                return await group.next()!
            }
            hub.client.cancelTimer()
            #expect(reachedThree, "the timer did not run three times within 15 s")
            #expect(runs.withLock { $0.allSatisfy { $0 } }, "the timer ran off the network thread")
        }
    }
}

extension MQTTClientTests {
    @Test("a timer run that fell while disconnected is skipped: the first run after a reconnect comes an interval later")
    func timerAfterReconnect() async throws {
        try await withBroker { broker in
            let client = try MQTTClient(options: MQTTClientOptions(clientID: "timer-test", protocolVersion: .v5, cleanSession: true))
            defer { client.close() }
            var events = client.events.makeAsyncIterator()
            func next(_ what: String, _ matches: (MQTTEvent) -> Bool) async throws {
                while let event = await events.next() {
                    if matches(event) { return }
                }
                throw TestError("the client's events ended before \(what)")
            }
            let endpoint = MQTTEndpoint(host: "127.0.0.1", port: broker.port)
            client.connect(to: endpoint, keepalive: 30)
            try await next("the first CONNACK") { if case .connAck(let ack) = $0 { return ack.accepted } else { return false } }
            let (runs, runSink) = AsyncStream.makeStream(of: Double.self)
            client.setTimer(interval: 2) { runSink.yield(Monotonic.seconds()) }
            var times = runs.makeAsyncIterator()
            _ = await times.next()  // the timer runs while connected
            await broker.stop()
            try await next("the disconnect") { if case .disconnected = $0 { return true } else { return false } }
            let disconnected = Monotonic.seconds()
            // Let a due time pass while there is no connection (the behaviour under test is about time).
            try await Task.sleep(for: .seconds(2.5))
            try await broker.start()
            client.connect(to: endpoint, keepalive: 30)
            try await next("the CONNACK after the restart") { if case .connAck(let ack) = $0 { return ack.accepted } else { return false } }
            let connected = Monotonic.seconds()
            // Runs while the broker was still stopping (connected, on a loaded machine) are
            // buffered in the stream: the one under test is the first after the disconnect.
            var firstRun = try #require(await times.next())
            while firstRun < disconnected { firstRun = try #require(await times.next()) }
            // A run made up at once would come within milliseconds of the connect.
            #expect(firstRun - connected >= 1.5, "the first run came \(firstRun - connected) s after the reconnect")
            client.cancelTimer()
        }
    }
}
