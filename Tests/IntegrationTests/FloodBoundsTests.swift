import FleetProtocol
import Foundation
import HatchlingSystem
import MosquittoClient
import Testing

/// Memory stays bounded under any flood (issue 12, item 9): commands are checked before they are
/// queued, the queue has a bound, and over MQTT 5 the broker is told the largest packet to deliver.
@Suite("Flood bounds", .serialized)
struct FloodBoundsTests {
    /// A listening socket that never accepts: a gateway whose health probe hangs until its timeout.
    static func hangingListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 512) == 0 else { throw TestError("cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test("a flood of commands that must wait (health-checks against a hanging gateway): at most 32 wait, the rest are refused at once")
    func boundedQueue() async throws {
        let gateway = try Self.hangingListener()
        var gatewayOpen = true
        defer { if gatewayOpen { close(gateway.fd) } }
        try await withBroker { broker in
            let environment = ["COMMAND_RATE_LIMIT": "0", "GATEWAY_HEALTH_URL": "http://127.0.0.1:\(gateway.port)/health"]
            try await withAgent("moss", broker: broker, environment: environment) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/moss/response", "fleet/moss/status"])
                defer { hub.close() }
                try await hub.waitOnline("moss")
                for index in 0..<100 {
                    try hub.publish("fleet/moss/command", #"{"command": "health-check", "id": "h-\#(index)"}"#)
                }
                // The refusals come at once, while the first probe still hangs.
                try await waitFor("the overflow to be refused", timeout: 20) {
                    hub.messages.filter { String(decoding: $0.payload, as: UTF8.self).contains("too many commands are waiting") }.count >= 50
                }
                // The gateway goes away: the waiting probes fail fast, and the queue drains.
                close(gateway.fd)
                gatewayOpen = false
                try await waitFor("the 32 waiting health-checks answered", timeout: 60) {
                    hub.messages.filter { String(decoding: $0.payload, as: UTF8.self).contains(#""command":"health-check""#) }.count >= 100
                }
                try hub.publish("fleet/moss/command", #"{"command": "status-report", "id": "after-flood"}"#)
                let status = try await hub.waitForResponse(on: "fleet/moss/response", "status after the flood", timeout: 30) {
                    $0.id == "after-flood"
                }
                guard case .status(let report) = status.outcome else { throw TestError("status-report failed: \(status)") }
                let ran = report.counters.commands["ok"] ?? 0
                let refused = report.counters.commands["rate-limited"] ?? 0
                #expect(ran + refused == 100, "every command counted: \(report.counters.commands)")
                #expect(refused >= 100 - 33 && refused <= 100 - 32, "32 wait (one may already run): \(report.counters.commands)")
                _ = agent
            }
        }
    }

    @Test("over MQTT 5 the broker drops a command far over the 4096-byte cap instead of delivering it; one just over is refused as too-large")
    func maximumPacketSize() async throws {
        try await withBroker { broker in
            try await withAgent("moss", broker: broker) { agent in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/moss/response", "fleet/moss/status"])
                defer { hub.close() }
                try await hub.waitOnline("moss")
                let huge = #"{"command": "health-check", "id": "huge", "pad": ""# + String(repeating: "x", count: 60_000) + #""}"#
                try hub.publish("fleet/moss/command", huge)
                let over = #"{"command": "health-check", "id": "over", "pad": ""# + String(repeating: "x", count: 4_100) + #""}"#
                try hub.publish("fleet/moss/command", over)
                let answer = try await hub.waitForResponse(on: "fleet/moss/response", "too-large") { $0.error?.code == .tooLarge }
                #expect(answer.error?.code == .tooLarge)
                try hub.publish("fleet/moss/command", #"{"command": "status-report", "id": "count"}"#)
                let status = try await hub.waitForResponse(on: "fleet/moss/response", "status") { $0.id == "count" }
                guard case .status(let report) = status.outcome else { throw TestError("status-report failed") }
                #expect(report.counters.commands["too-large"] == 1, "the 60 KB command never reached the agent: \(report.counters.commands)")
                _ = agent
            }
        }
    }
}
