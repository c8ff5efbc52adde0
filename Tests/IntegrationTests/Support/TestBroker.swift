import Foundation
import HatchlingSystem
import Testing

/// A real mosquitto on a free 127.0.0.1 port, with its own config and persistence folder.
/// Started and stopped by pid; `withBroker` always stops it.
final class TestBroker: @unchecked Sendable {
    // @unchecked Sendable: `process` is replaced only by start/stop, which tests call in sequence.
    let port: Int
    let directory: URL
    private(set) var process: ChildProcess?
    let extraConfig: String
    /// Replaces the anonymous plain listener (for password, ACL and TLS brokers).
    let listenerConfig: String?

    init(port: Int? = nil, extraConfig: String = "", listenerConfig: String? = nil) throws {
        self.port = try port ?? freePort()
        self.directory = try makeTemporaryDirectory(prefix: "broker")
        self.extraConfig = extraConfig
        self.listenerConfig = listenerConfig
    }

    var configPath: URL { directory.appendingPathComponent("mosquitto.conf") }

    func start() async throws {
        let listener = listenerConfig ?? "listener \(port) 127.0.0.1\nallow_anonymous true"
        let config = """
            \(listener)
            set_tcp_nodelay true
            persistence true
            persistence_location \(directory.path)/
            autosave_interval 1
            user root
            log_type error
            log_type warning
            log_type notice
            log_dest file \(directory.path)/broker.log
            \(extraConfig)
            """
        try config.write(to: configPath, atomically: true, encoding: .utf8)
        process = try ChildProcess(
            executable: try which("mosquitto"), arguments: ["-c", configPath.path], environment: [:],
            outputPath: directory.appendingPathComponent("stderr.log").path)
        try await waitForPort(port, deadline: 15)
    }

    /// SIGTERM and wait: mosquitto saves its persistence file on the way out.
    func stop() async {
        guard let process else { return }
        self.process = nil
        await process.terminate(signal: SIGTERM, grace: 10)
    }

    func log() -> String {
        (try? String(contentsOf: directory.appendingPathComponent("broker.log"), encoding: .utf8)) ?? ""
    }
}

func withBroker<T>(
    port: Int? = nil, extraConfig: String = "", listenerConfig: String? = nil, _ body: (TestBroker) async throws -> T
) async throws -> T {
    let broker = try TestBroker(port: port, extraConfig: extraConfig, listenerConfig: listenerConfig)
    try await broker.start()
    do {
        let result = try await body(broker)
        await broker.stop()
        return result
    } catch {
        await broker.stop()
        throw error
    }
}

/// Asks the kernel for a free port on 127.0.0.1.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw TestError("bind failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw TestError("getsockname failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Waits until something accepts connections on the port.
func waitForPort(_ port: Int, deadline seconds: Double) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        close(fd)
        if connected == 0 { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestError("nothing listens on 127.0.0.1:\(port) after \(seconds) s")
}

struct TestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func makeTemporaryDirectory(prefix: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("hatchling-\(prefix)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@discardableResult
func touch(_ url: URL) throws -> URL {
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    return url
}

func which(_ program: String) throws -> String {
    for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + [
        "/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin",
    ] {
        let path = "\(directory)/\(program)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw TestError("\(program) is not installed (apt-get install mosquitto mosquitto-clients tini)")
}
