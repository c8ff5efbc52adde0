import Foundation
import HatchlingSystem
import Synchronization

/// A minimal HTTP server on 127.0.0.1 for probe tests: a Foundation Thread accepts connections on
/// a POSIX socket, reads each request, and answers with a fixed reply, or holds the connection
/// open without answering.
final class TinyHTTPServer: Sendable {
    enum Behavior: Sendable {
        /// Sends these bytes and closes.
        case reply(String)
        /// Reads the request and then never answers (until the server stops).
        case silent
        /// Reads the request and closes without a word.
        case hangUp
    }

    let port: UInt16
    private let listener: Int32
    private let behavior: Behavior
    private let state = Mutex<(requests: [String], held: [Int32])>(([], []))
    private let stopped = DispatchSemaphore(value: 0)

    /// Every request received, as text.
    var requests: [String] { state.withLock { $0.requests } }

    init(_ behavior: Behavior) throws {
        self.behavior = behavior
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 16) == 0 else {
            close(listener)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    private func acceptLoop() {
        defer { stopped.signal() }
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return  // the listener was shut down
            }
            state.withLock { $0.requests.append(Self.readRequest(connection)) }
            switch behavior {
            case .reply(let text):
                let bytes = Array(text.utf8)
                _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(connection)
            case .hangUp:
                close(connection)
            case .silent:
                state.withLock { $0.held.append(connection) }
            }
        }
    }

    /// Reads up to the blank line that ends the request head.
    private static func readRequest(_ fd: Int32) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1024)
        while bytes.count < 16 * 1024, !String(decoding: bytes, as: UTF8.self).contains("\r\n\r\n") {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Stops accepting, waits for the accepting thread to end, and closes every connection.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        stopped.wait()
        close(listener)
        for fd in state.withLock({ $0.held }) { close(fd) }
    }
}

/// Runs `body` with a server that is always stopped afterwards.
func withHTTPServer<T>(_ behavior: TinyHTTPServer.Behavior, _ body: (TinyHTTPServer) async throws -> T) async throws -> T {
    let server = try TinyHTTPServer(behavior)
    defer { server.stop() }
    return try await body(server)
}

/// A port on 127.0.0.1 that nothing listens on: bound once, then released.
func closedPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw POSIXError(.EADDRNOTAVAIL) }
    return UInt16(bigEndian: address.sin_port)
}
