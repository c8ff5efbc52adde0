import FleetProtocol
import Foundation
import HatchlingSystem
import Testing

/// The collectors on this machine's real kernel files, checked against independent readers.
@Suite("Metrics on the real machine", .serialized)
struct MetricsTests {
    static let memoryHierarchy = "/sys/fs/cgroup/memory"

    /// Root, a cgroup v1 memory hierarchy, and the right to make a child in it.
    static var canMakeMemoryCgroup: Bool {
        let probe = "\(memoryHierarchy)/hatchling-probe-\(getpid())"
        guard getuid() == 0, mkdir(probe, 0o755) == 0 else { return false }
        rmdir(probe)
        return true
    }

    func metrics(_ arguments: [String] = [], environment extra: [String: String] = [:]) throws -> [String: Any] {
        let directory = try makeTemporaryDirectory(prefix: "metrics")
        var environment = ["HATCHLING_DATA_DIR": directory.path, "GATEWAY_HEALTH_URL": "http://127.0.0.1:9/health"]
        environment.merge(extra) { $1 }
        let result = try runAgentCommand(["metrics", "--sample", "0.2"] + arguments, environment: environment)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test(
        "the agent reports exactly the memory limit of the cgroup it runs in",
        .enabled(if: MetricsTests.canMakeMemoryCgroup, "needs root and a cgroup v1 memory hierarchy at /sys/fs/cgroup/memory"))
    func realCgroupLimit() async throws {
        let cgroup = "\(Self.memoryHierarchy)/hatchling-test-\(UUID().uuidString.prefix(8))"
        #expect(mkdir(cgroup, 0o755) == 0)
        defer { rmdir(cgroup) }
        let limit = 268_435_456
        try "\(limit)".write(toFile: "\(cgroup)/memory.limit_in_bytes", atomically: false, encoding: .utf8)
        let directory = try makeTemporaryDirectory(prefix: "cgroup")
        let output = directory.appendingPathComponent("metrics.json")
        // Join the cgroup first, then become the agent: the agent runs inside the limit.
        let shell = try ChildProcess(
            executable: "/bin/sh",
            arguments: ["-c", "echo $$ > \(cgroup)/cgroup.procs && exec \"$0\" metrics --sample 0.1 --data-dir /tmp", try TestAgent.executable.path],
            environment: ["GATEWAY_HEALTH_URL": "http://127.0.0.1:9/health"], outputPath: output.path)
        let status = await shell.waitForExit(seconds: 30)
        #expect(status == 0)
        let text = try String(contentsOf: output, encoding: .utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "\(text)")
        let container = try #require(object["container"] as? [String: Any])
        #expect(container["mem_limit_bytes"] as? Int == limit)
        let current = container["mem_current_bytes"] as? Int ?? 0
        #expect(current > 0)
        // A fresh cgroup holds the agent alone: its working set is there, and within its usage.
        let workingSet = try #require(container["mem_working_set_bytes"] as? Int, "\(container)")
        #expect(workingSet > 0 && workingSet <= current, "working set \(workingSet), usage \(current)")
        // And the health rule judges memory against that limit, not the host's memory.
        let problems = object["problems"] as? [String] ?? []
        #expect(problems.allSatisfy { !$0.contains("memory") }, "\(problems)")
    }

    @Test("host, disk and process figures agree with Python's os module and the kernel's files read directly")
    func againstIndependentReaders() throws {
        let object = try metrics()
        let script = """
            import json, os
            st = os.statvfs("/tmp")
            mem = {l.split(':')[0]: int(l.split()[1]) * 1024 for l in open('/proc/meminfo') if l.split()[-1] == 'kB'}
            net = [l.split() for l in open('/proc/net/dev').read().splitlines()[2:]]
            rx = sum(int(f[1]) for f in net if f[0] != 'lo:')
            print(json.dumps({"load": os.getloadavg(), "mem_total": mem["MemTotal"], "disk_total": st.f_blocks * st.f_frsize,
                              "uptime": float(open('/proc/uptime').read().split()[0]), "rx": rx}))
            """
        let python = try runProgram(try systemPython(), ["-c", script])
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(python.utf8)) as? [String: Any])
        let host = try #require(object["host"] as? [String: Any])
        #expect(host["mem_total_bytes"] as? Int == reference["mem_total"] as? Int)
        let load = try #require(host["load"] as? [Double])
        let referenceLoad = try #require(reference["load"] as? [Double])
        // Read a moment apart: on a loaded machine (a whole test run at once) the one-minute load
        // moves by more than 1 in that moment, so the bound grows with the load.
        for (ours, theirs) in zip(load, referenceLoad) {
            #expect(abs(ours - theirs) < max(1.0, 0.3 * theirs), "load \(load) vs \(referenceLoad)")
        }
        let uptime = try #require(host["uptime_s"] as? Double)
        #expect(abs(uptime - (reference["uptime"] as? Double ?? 0)) < 30)
        let disk = try #require(try metrics(["--data-dir", "/tmp"])["disk"] as? [String: Any])
        #expect(disk["total_bytes"] as? Int == reference["disk_total"] as? Int)
        let container = try #require(object["container"] as? [String: Any])
        // `metrics` prints the heartbeat's container section: the working set beside the usage.
        #expect(container.keys.contains("mem_working_set_bytes"), "\(container)")
        if let current = container["mem_current_bytes"] as? Int {
            let workingSet = try #require(container["mem_working_set_bytes"] as? Int, "a usage and no working set: \(object["problems"] ?? [])")
            #expect(workingSet <= current)
        }
        let rx = try #require(container["net_rx_bytes"] as? Int)
        #expect(rx <= (reference["rx"] as? Int ?? 0), "counters only grow: ours was read first")
        let agent = try #require(object["agent"] as? [String: Any])
        #expect((agent["rss_bytes"] as? Int ?? 0) > 1_000_000)
        #expect((agent["open_fds"] as? Int ?? 0) >= 3)
        #expect((agent["threads"] as? Int ?? 0) >= 1)
    }

    @Test(
        "memory figures agree with psutil where it is installed",
        .enabled(if: MetricsTests.hasPsutil, "psutil is not installed (scripts/install-deps.sh installs it)"))
    func againstPsutil() throws {
        let object = try metrics(["--data-dir", "/tmp"])
        let python = try runProgram(
            try systemPython(),
            ["-c", "import json, psutil; print(json.dumps({'total': psutil.virtual_memory().total, 'disk': psutil.disk_usage('/tmp').total}))"])
        let reference = try #require(try JSONSerialization.jsonObject(with: Data(python.utf8)) as? [String: Int])
        let host = try #require(object["host"] as? [String: Any])
        #expect(host["mem_total_bytes"] as? Int == reference["total"])
        let disk = try #require(object["disk"] as? [String: Any])
        #expect(disk["total_bytes"] as? Int == reference["disk"])
    }

    static var hasPsutil: Bool {
        (try? runProgram(try systemPython(), ["-c", "import psutil"])) != nil
    }
}

/// A gateway that accepts connections and never answers must not hold up a heartbeat.
@Suite("Gateway probe beside the heartbeat")
struct GatewayHangTests {
    @Test("heartbeats keep their interval while the gateway hangs; they report the last probe with its age")
    func hangingGateway() async throws {
        let listener = try HangingListener()
        defer { listener.close() }
        try await withBroker { broker in
            try await withAgent(
                "gull", broker: broker,
                environment: ["HEARTBEAT_INTERVAL": "1", "GATEWAY_HEALTH_URL": "http://127.0.0.1:\(listener.port)/health"]
            ) { _ in
                let hub = try await TestHub.connect(to: broker, topics: ["fleet/gull/heartbeat"])
                defer { hub.close() }
                // The first heartbeat goes out on connect, before the first probe (2 s timeout) ends.
                let first = try await hub.waitForMessage("first heartbeat") { $0.topic == "fleet/gull/heartbeat" }
                let firstBeat = try FleetJSON.decode(Heartbeat.self, from: first.payload)
                #expect(firstBeat.gateway.error == "not probed yet")
                let timedOut = try await hub.waitForMessage("a heartbeat reporting the probe's timeout", timeout: 20) { message in
                    (try? FleetJSON.decode(Heartbeat.self, from: message.payload))?.gateway.error == "timeout"
                }
                let beat = try FleetJSON.decode(Heartbeat.self, from: timedOut.payload)
                #expect(beat.health == .unhealthy)
                #expect(beat.gateway.ageS != nil)
                let later = try await hub.waitForMessage("a heartbeat with an older probe result", timeout: 20) { message in
                    guard let heartbeat = try? FleetJSON.decode(Heartbeat.self, from: message.payload) else { return false }
                    return heartbeat.gateway.error == "timeout" && (heartbeat.gateway.ageS ?? 0) >= 0.9
                }
                #expect(try FleetJSON.decode(Heartbeat.self, from: later.payload).seq >= beat.seq)
                let seqs = hub.messages.compactMap { try? FleetJSON.decode(Heartbeat.self, from: $0.payload).seq }
                #expect(seqs == Array(seqs.first!...seqs.first! + UInt64(seqs.count - 1)), "one heartbeat per interval, none skipped: \(seqs)")
            }
        }
    }
}

/// A listening socket that never accepts: connections complete in the kernel's backlog and
/// requests are never answered, like a gateway that hangs.
final class HangingListener: Sendable {
    let fd: Int32
    let port: Int

    /// `backlog`: how many completed connections the kernel holds for it (0: one).
    init(backlog: Int32 = 64) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, backlog) == 0 else { throw TestError("cannot listen") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}

/// Debian's python3 (which has python3-psutil from apt), else the first python3 on PATH.
func systemPython() throws -> String {
    FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : try which("python3")
}

/// Runs a program to completion; its standard output, or an error with its standard error.
func runProgram(_ path: String, _ arguments: [String]) throws -> String {
    let result = try runProcess(path, arguments)
    guard result.status == 0 else { throw TestError(result.stderr) }
    return result.stdout
}
