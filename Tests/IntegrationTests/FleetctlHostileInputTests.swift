import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// fleetctl trusts nothing it reads: any hatchling may write its own retained status and heartbeat.
@Suite("fleetctl and hostile hatchlings")
struct FleetctlHostileInputTests {
    /// As JSON escapes (raw control characters are not valid JSON): clear screen, set the title, bell.
    static let escape = #"\u001b[2J\u001b]0;owned\u0007"#

    @Test("huge numbers do not trap status (text or JSON); escape sequences a hatchling sent are not printed; --json keeps them exact")
    func hostileHeartbeat() async throws {
        try await withBroker { broker in
            let hub = try await TestHub.connect(to: broker, topics: ["fleet/#"])
            defer { hub.close() }
            let now = FleetTimestamp.now().description
            let status =
                #"{"agent_version":"1.0.0","boot_id":"3f2a9c1e5b7d4a6f8e0c1b2d3a4f5e6d","commands":["health-check"],"heartbeat_interval_s":1000000000,"protocol":1,"state":"online","ts":"\#(now)","v":1}"#
            let beat =
                #"{"agent":{"open_fds":null,"rss_bytes":5242880,"threads":null,"uptime_s":1e300,"version":"9.9\#(Self.escape)"},"boot_id":"3f2a9c1e5b7d4a6f8e0c1b2d3a4f5e6d","container":{"cpu_limit_cores":1e300,"cpu_pct":1e300,"mem_current_bytes":73400320,"mem_limit_bytes":null,"mem_working_set_bytes":52428800,"net_rx_bytes":null,"net_tx_bytes":null,"oom_kills":null,"uptime_s":1e300},"disk":{"free_bytes":53687091200,"path":"/x","total_bytes":107374182400},"gateway":{"http_status":200,"latency_ms":4,"ok":true},"hatchling":"evil","health":"healthy","host":{"cpu_pct":-1e300,"load":[1e300,0.3,0.25],"mem_available_bytes":9663676416,"mem_total_bytes":16707350528,"uptime_s":1e300},"interval_s":1000000000,"seq":812,"ts":"\#(now)","v":1}"#
            try hub.publish("fleet/evil/status", status, retain: true)
            try hub.publish("fleet/evil/heartbeat", beat, retain: true)
            _ = try await hub.waitForMessage("the heartbeat back") { $0.topic == "fleet/evil/heartbeat" }

            let env = Fleetctl.environment(broker)
            let text = try await Fleetctl.run(["status"], environment: env)
            #expect(text.status == 0, "status exits normally:\n\(text.stderr)")
            #expect(text.stdout.contains("evil") && text.stdout.contains("9.9?[2J"), "the version is shown, cleaned: \(text.stdout)")
            #expect(!text.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "no control characters in text output")

            let json = try await Fleetctl.run(["status", "--json"], environment: env)
            #expect(json.status == 0, "\(json.stderr)")
            #expect(json.stdout.contains(#"\u001b[2J"#) || json.stdout.contains(#"\u001B[2J"#), "JSON keeps the exact text, escaped: \(json.stdout)")
            #expect(!json.stdout.unicodeScalars.contains { $0.value == 0x1B }, "JSON escapes it")
        }
    }
}
