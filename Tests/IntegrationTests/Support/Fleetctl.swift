import Foundation
import HatchlingSystem

/// The built `fleetctl` executable, next to the agent's (or FLEETCTL_BIN).
enum Fleetctl {
    static var executable: String {
        get throws {
            if let path = ProcessInfo.processInfo.environment["FLEETCTL_BIN"] { return path }
            let path = try TestAgent.executable.deletingLastPathComponent().appendingPathComponent("fleetctl").path
            guard FileManager.default.isExecutableFile(atPath: path) else {
                throw TestError("fleetctl is not built: run `swift build` first (or set FLEETCTL_BIN)")
            }
            return path
        }
    }

    /// The environment that points fleetctl at a test broker.
    static func environment(_ broker: TestBroker, _ extra: [String: String] = [:]) -> [String: String] {
        [
            "MQTT_HOST": "127.0.0.1", "MQTT_PORT": String(broker.port),
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
        ].merging(extra) { $1 }
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String

        /// Standard output parsed as a JSON object.
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
                throw TestError("not a JSON object: \(stdout)")
            }
            return object
        }
    }

    /// Runs fleetctl to completion on a thread of its own (never blocking Swift's cooperative pool).
    static func run(_ arguments: [String], environment: [String: String]) async throws -> Result {
        let executable = try executable
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                process.environment = environment
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: error)
                    return
                }
                // Standard error is read on another thread, so neither pipe can fill up and block the child.
                let errorText = OneShot<Data>()
                let reader = Thread { errorText.set(err.fileHandleForReading.readDataToEndOfFile()) }
                reader.start()
                let stdout = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let stderr = errorText.wait()
                continuation.resume(
                    returning: Result(
                        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                        stderr: String(decoding: stderr, as: UTF8.self)))
            }
        }
    }

    /// Starts a long-running fleetctl (watch, events, exporter, audit) writing stdout and stderr to
    /// a file, or stderr to `errors` when given.
    static func start(_ arguments: [String], environment: [String: String], output: URL, errors: URL? = nil) throws -> ChildProcess {
        try ChildProcess(
            executable: try executable, arguments: arguments, environment: environment, outputPath: output.path, errorPath: errors?.path)
    }
}

/// A value set once by one thread and awaited by another (blocking; for helper threads only).
final class OneShot<Value: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `condition`'s lock.
    private let condition = NSCondition()
    private var value: Value?

    func set(_ newValue: Value) {
        condition.lock()
        value = newValue
        condition.signal()
        condition.unlock()
    }

    func wait() -> Value {
        condition.lock()
        defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}

/// The status and body of a GET over a raw socket, HTTP/1.0: read until the server closes.
func httpGet(port: Int, path: String) throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket failed") }
    defer { close(fd) }
    // Bounded waits, so a caller that polls gets a fresh attempt: a blocking connect whose SYN met
    // a full backlog waits out the kernel's retransmits (1 + 2 + 4 + ... s, a minute and more).
    // On Linux SO_SNDTIMEO bounds connect() too.
    var sendTimeout = timeval(tv_sec: 3, tv_usec: 0)
    var receiveTimeout = timeval(tv_sec: 15, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestError("cannot connect to 127.0.0.1:\(port)") }
    // HTTP/1.0: a server (ours, or Prometheus's Go server) then neither keeps the connection nor
    // chunks the body; it closes after the answer.
    let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: hatchling-tests\r\n\r\n".utf8)
    var sent = 0
    while sent < request.count {
        let count = Syscall.retryingRaw { request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
        guard count > 0 else { throw TestError("send to 127.0.0.1:\(port) failed") }
        sent += count
    }
    var response: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = Syscall.retryingRaw { buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) } }
        if count <= 0 { break }
        response += buffer[0..<count]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let headerEnd = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ").dropFirst().first ?? "") else {
        throw TestError("not an HTTP response: \(text.prefix(300))")
    }
    return (status, String(text[headerEnd.upperBound...]))
}

/// `name{labels} value` lines of a Prometheus exposition, as (name, labels text, value).
func parseExposition(_ text: String) -> [(name: String, labels: String, value: Double)] {
    text.split(separator: "\n").compactMap { line in
        guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            return nil
        }
        let series = line[..<space]
        guard let brace = series.firstIndex(of: "{") else { return (String(series), "", value) }
        return (String(series[..<brace]), String(series[brace...]), value)
    }
}
