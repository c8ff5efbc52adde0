import Foundation
import HatchlingSystem

/// The built `hatchling-agent` executable, run as a real process with its own environment.
final class TestAgent: @unchecked Sendable {
    // @unchecked Sendable: `process` changes only in start/stop, which a test calls in sequence.
    let name: String
    var environment: [String: String]
    let directory: URL
    private(set) var process: ChildProcess?
    private(set) var runs = 0

    init(name: String, broker: TestBroker?, environment extra: [String: String] = [:]) throws {
        self.name = name
        self.directory = try makeTemporaryDirectory(prefix: "agent-\(name)")
        var environment: [String: String] = [
            "HATCHLING_NAME": name,
            "HATCHLING_DATA_DIR": directory.path,
            "GATEWAY_HEALTH_URL": "http://127.0.0.1:9/health",
            "HEARTBEAT_INTERVAL": "30",
            "LOG_LEVEL": "debug",
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            // A socket of its own (in a folder of its own, which the entrypoint may take over),
            // never the machine's /run/hatchling-agent.
            "HATCHLING_AGENT_SOCKET": directory.appendingPathComponent("run/agent.sock").path,
        ]
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("run"), withIntermediateDirectories: true)
        if let broker {
            environment["MQTT_HOST"] = "127.0.0.1"
            environment["MQTT_PORT"] = String(broker.port)
        }
        environment.merge(extra) { $1 }
        self.environment = environment
    }

    static var executable: URL {
        get throws {
            if let path = ProcessInfo.processInfo.environment["HATCHLING_AGENT_BIN"] { return URL(fileURLWithPath: path) }
            // Tests/IntegrationTests/Support/TestAgent.swift -> package root
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent()
            for candidate in [".build/debug/hatchling-agent", ".build/release/hatchling-agent"] {
                let url = root.appendingPathComponent(candidate)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
            throw TestError("hatchling-agent is not built: run `swift build` first (or set HATCHLING_AGENT_BIN)")
        }
    }

    /// The agent's local socket (`hatchling-agent publish` and `health`).
    var socketPath: String { environment["HATCHLING_AGENT_SOCKET"] ?? "" }

    var logURL: URL { directory.appendingPathComponent("agent-\(runs).log") }

    func start(arguments: [String] = []) throws {
        runs += 1
        process = try ChildProcess(
            executable: try Self.executable.path, arguments: arguments, environment: environment, outputPath: logURL.path)
    }

    var pid: Int32 { process?.pid ?? -1 }

    /// A test that threw before stopping its agent must not leave it running (nor its worker):
    /// SIGKILL to both, by pid. (A supervisor left alive keeps restarting its worker.)
    deinit {
        guard let process else { return }
        for pid in [process.pid] + descendants(of: process.pid) { _ = Glibc.kill(pid, SIGKILL) }
    }

    /// SIGTERM, and the exit status; nil if it had not exited after `grace` seconds (then SIGKILL).
    @discardableResult
    func stop(grace: Double = 10) async -> Int32? {
        guard let process else { return nil }
        self.process = nil
        return await process.terminate(signal: SIGTERM, grace: grace)
    }

    /// The supervisor's worker: the process that holds the MQTT connection.
    func workerPID() -> pid_t? {
        guard let process else { return nil }
        return childPIDs(of: process.pid).first
    }

    /// SIGKILL: no shutdown, the broker publishes the Last Will.
    func kill9() async {
        guard let process else { return }
        self.process = nil
        await process.terminate(signal: SIGKILL, grace: 10)
    }

    func signal(_ number: Int32) {
        process?.signal(number)
    }

    func log() -> String {
        (0...runs).map { run in
            (try? String(contentsOf: directory.appendingPathComponent("agent-\(run).log"), encoding: .utf8)) ?? ""
        }.joined(separator: "\n--- restart ---\n")
    }
}

/// The children of a process, from /proc/<pid>/task/*/children (each thread lists the children it started).
func childPIDs(of pid: pid_t) -> [pid_t] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.flatMap { task -> [pid_t] in
        let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
        return text.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }.sorted()
}

/// Every process below `pid`, parents before their children.
func descendants(of pid: pid_t) -> [pid_t] {
    childPIDs(of: pid).flatMap { [$0] + descendants(of: $0) }
}

/// Kills a process and everything below it (a SIGKILLed tini forwards nothing: its children
/// would be left running).
func killTree(_ process: ChildProcess) async {
    let below = descendants(of: process.pid)
    await process.terminate(signal: SIGKILL, grace: 5)
    for pid in below.reversed() { kill(pid, SIGKILL) }
}

/// Zombie children of a process (state Z in /proc/<child>/stat).
func zombieChildren(of pid: pid_t) -> [pid_t] {
    childPIDs(of: pid).filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }
}

/// Runs the agent as a command (check-config, metrics, --help) and returns its status and output.
func runAgentCommand(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try runProcess(try TestAgent.executable.path, arguments, environment: environment)
}

/// Runs a program to completion and returns its status and both outputs.
func runProcess(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws -> (status: Int32, stdout: String, stderr: String)
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let environment { process.environment = environment }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// Starts an agent, runs the body, and always stops the agent by its pid.
func withAgent<T>(
    _ name: String, broker: TestBroker, environment: [String: String] = [:], _ body: (TestAgent) async throws -> T
) async throws -> T {
    let agent = try TestAgent(name: name, broker: broker, environment: environment)
    try agent.start()
    do {
        let result = try await body(agent)
        await agent.stop()
        return result
    } catch {
        await agent.stop()
        print("agent log:\n\(agent.log())")
        throw error
    }
}
