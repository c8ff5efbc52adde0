import Foundation
import HatchlingSystem

/// The RabbitMQ nodes of a test run (scripts/rabbitmq-nodes.sh): a standalone node and a two-node
/// cluster with mirrored session queues, set up from template/rabbitmq.
///
/// `scripts/test.sh` starts them while Swift builds and passes `HATCHLING_TEST_RABBITMQ` (the env
/// file). Without it, the first test that needs them starts them (once per test process, about a
/// minute or two) with `--stop-with <this pid>`, so they stop when the test process ends.
struct RabbitMQNodes: Sendable {
    struct Node: Sendable {
        let name: String
        let port: Int
        let pid: pid_t
    }

    let values: [String: String]
    let ctl: String
    let directory: URL
    let standalone: Node
    let clusterB: Node
    let clusterC: Node

    init(envFile: URL) throws {
        let text = try String(contentsOf: envFile, encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            values[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        func value(_ key: String) throws -> String {
            guard let value = values[key], !value.isEmpty else { throw TestError("\(envFile.path) has no \(key)") }
            return value
        }
        func node(_ prefix: String) throws -> Node {
            guard let port = Int(try value("\(prefix)_MQTT_PORT")), let pid = pid_t(try value("\(prefix)_PID")) else {
                throw TestError("\(envFile.path): bad \(prefix) port or pid")
            }
            return Node(name: try value("\(prefix)_NODE"), port: port, pid: pid)
        }
        self.values = values
        ctl = try value("RABBITMQ_CTL")
        directory = URL(fileURLWithPath: try value("RABBITMQ_DIR"))
        standalone = try node("RABBITMQ_STANDALONE")
        clusterB = try node("RABBITMQ_CLUSTER_B")
        clusterC = try node("RABBITMQ_CLUSTER_C")
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The nodes of this run: from HATCHLING_TEST_RABBITMQ, or started now (once).
    static func shared() async throws -> RabbitMQNodes {
        try await RabbitMQNodesStarter.shared.nodes()
    }

    /// Secrets written by template/rabbitmq/add-hatchling.sh for users of one node (or cluster).
    func secrets(for node: Node) -> URL {
        directory.appendingPathComponent("secrets-\(node.name.prefix { $0 != "@" })")
    }

    /// Adds a user with template/rabbitmq/add-hatchling.sh (a hatchling NAME, the hub with `--hub`,
    /// its admin user with `--admin`); returns the password file.
    func addUser(_ arguments: [String], on node: Node) async throws -> URL {
        let script = Self.repositoryRoot.appendingPathComponent("template/rabbitmq/add-hatchling.sh").path
        var environment = ProcessInfo.processInfo.environment
        environment["RABBITMQCTL"] = ctl
        environment["RABBITMQ_NODE"] = node.name
        let result = try await runProcessOffPool(script, arguments + [secrets(for: node).path], environment: environment)
        guard result.status == 0 else {
            throw TestError("add-hatchling.sh \(arguments) failed (\(result.status)): \(result.stdout)\(result.stderr)")
        }
        let name = arguments.first == "--hub" ? "zephyr" : arguments.first == "--admin" ? "zephyr-admin" : arguments[0]
        return secrets(for: node).appendingPathComponent("\(name)/mqtt-password")
    }

    /// The hub user zephyr on a node (created once per node) and its password.
    func hub(on node: Node) async throws -> (passwordFile: URL, password: String) {
        let file = try await RabbitMQNodesStarter.shared.hubPasswordFile(self, node)
        let password = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return (file, password)
    }

    /// The hub's admin user zephyr-admin (fleetctl forget) on a node (created once per node).
    func admin(on node: Node) async throws -> URL {
        try await RabbitMQNodesStarter.shared.adminPasswordFile(self, node)
    }

    /// Runs the test nodes' rabbitmqctl.
    func rabbitmqctl(_ arguments: [String]) async throws -> String {
        let result = try await runProcessOffPool(ctl, arguments, environment: ProcessInfo.processInfo.environment)
        guard result.status == 0 else { throw TestError("rabbitmqctl \(arguments) failed (\(result.status)): \(result.stderr)") }
        return result.stdout
    }

    /// The node's log file.
    func log(of node: Node) -> String {
        let short = node.name.prefix { $0 != "@" }
        let url = directory.appendingPathComponent("\(short)/log/\(node.name).log")
        return (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    }

    /// The environment for fleetctl as the hub user (or another) on a node (or a host list).
    func fleetctlEnvironment(hosts: String, passwordFile: URL, username: String = "zephyr") -> [String: String] {
        [
            "MQTT_HOST": hosts, "MQTT_USERNAME": username, "MQTT_PASSWORD_FILE": passwordFile.path,
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ]
    }
}

/// Starts the nodes at most once per test process and creates each node's hub user once.
actor RabbitMQNodesStarter {
    static let shared = RabbitMQNodesStarter()
    private var started: Task<RabbitMQNodes, any Error>?
    private var hubs: [String: Task<URL, any Error>] = [:]
    private var admins: [String: Task<URL, any Error>] = [:]

    func nodes() async throws -> RabbitMQNodes {
        if let started { return try await started.value }
        let task = Task<RabbitMQNodes, any Error> {
            if let path = ProcessInfo.processInfo.environment["HATCHLING_TEST_RABBITMQ"], !path.isEmpty {
                return try RabbitMQNodes(envFile: URL(fileURLWithPath: path))
            }
            let directory = try makeTemporaryDirectory(prefix: "rabbitmq")
            let script = RabbitMQNodes.repositoryRoot.appendingPathComponent("scripts/rabbitmq-nodes.sh").path
            print("RabbitMQ: HATCHLING_TEST_RABBITMQ is not set; starting the test nodes in \(directory.path) (a minute or two)")
            let started = Date()
            // posix_spawn with a clean signal mask (ChildProcess): the nodes must see the SIGTERM that stops them.
            let log = directory.appendingPathComponent("start.log")
            let child = try ChildProcess(
                executable: script, arguments: ["start", directory.path, "--stop-with", String(getpid())],
                environment: ProcessInfo.processInfo.environment, outputPath: log.path)
            let status = await child.waitForExit(seconds: 600)
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard status == 0 else {
                if status == nil { await child.terminate(signal: SIGTERM, grace: 5) }
                throw TestError("scripts/rabbitmq-nodes.sh start failed (\(status.map(String.init) ?? "still running after 600 s")): \(output)")
            }
            print("RabbitMQ: nodes up after \(Int(Date().timeIntervalSince(started))) s: \(output)")
            return try RabbitMQNodes(envFile: directory.appendingPathComponent("rabbitmq.env"))
        }
        started = task
        return try await task.value
    }

    func hubPasswordFile(_ nodes: RabbitMQNodes, _ node: RabbitMQNodes.Node) async throws -> URL {
        if let task = hubs[node.name] { return try await task.value }
        let task = Task<URL, any Error> { try await nodes.addUser(["--hub"], on: node) }
        hubs[node.name] = task
        return try await task.value
    }

    func adminPasswordFile(_ nodes: RabbitMQNodes, _ node: RabbitMQNodes.Node) async throws -> URL {
        if let task = admins[node.name] { return try await task.value }
        let task = Task<URL, any Error> { try await nodes.addUser(["--admin"], on: node) }
        admins[node.name] = task
        return try await task.value
    }
}

/// `runProcess` on a thread of its own, so a slow program never blocks Swift's cooperative pool.
func runProcessOffPool(_ path: String, _ arguments: [String], environment: [String: String]) async throws -> (
    status: Int32, stdout: String, stderr: String
) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                continuation.resume(returning: try runProcessToFiles(path, arguments, environment: environment))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}

/// Runs a program with its output in files (a pipe could be held open by a daemon it leaves
/// running, such as the nodes' watcher).
private func runProcessToFiles(_ path: String, _ arguments: [String], environment: [String: String]) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let directory = try makeTemporaryDirectory(prefix: "run")
    defer { try? FileManager.default.removeItem(at: directory) }
    let out = try touch(directory.appendingPathComponent("stdout"))
    let err = try touch(directory.appendingPathComponent("stderr"))
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    let outHandle = try FileHandle(forWritingTo: out)
    let errHandle = try FileHandle(forWritingTo: err)
    process.standardOutput = outHandle
    process.standardError = errHandle
    try process.run()
    process.waitUntilExit()
    try? outHandle.close()
    try? errHandle.close()
    return (
        process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    )
}
