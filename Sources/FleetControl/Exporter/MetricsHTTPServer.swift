import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A very small HTTP server on POSIX sockets for `/metrics`: one thread (a serial Dispatch
/// queue) accepts and answers one connection at a time, reads at most 8 KiB with a 2 s timeout,
/// writes the answer and closes.
///
/// Why not FlyingFox or hummingbird: both pull in full Foundation (ICU data, tens of MiB; see
/// ../shared/FACTS.md) or SwiftNIO, for a server that answers one scrape every few seconds.
public final class MetricsHTTPServer: Sendable {
    /// The port bound (the one asked for, or the one the kernel picked for port 0).
    public let port: Int
    private let fd: Int32
    private let closed = Mutex(false)
    private let queue = DispatchQueue(label: "fleetctl.exporter.http")
    private let metrics: @Sendable () -> [UInt8]

    /// Binds and listens at once, so a taken port is an error before anything else starts.
    public init(listen address: ListenAddress, metrics: @escaping @Sendable () -> [UInt8]) throws(FleetctlError) {
        self.metrics = metrics
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>? = nil
        let lookup = getaddrinfo(address.host.isEmpty ? nil : address.host, String(address.port), &hints, &list)
        guard lookup == 0, let first = list else {
            throw .io("cannot listen on \(address): \(String(cString: gai_strerror(lookup)))")
        }
        defer { freeaddrinfo(list) }
        var lastError: Int32 = 0
        var bound: Int32 = -1
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry?.pointee, bound < 0 {
            entry = info.ai_next
            let candidate = socket(info.ai_family, info.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), info.ai_protocol)
            guard candidate >= 0 else { lastError = errno; continue }
            var one: Int32 = 1
            setsockopt(candidate, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(candidate, info.ai_addr, info.ai_addrlen) == 0, listen(candidate, 16) == 0 {
                bound = candidate
            } else {
                lastError = errno
                close(candidate)
            }
        }
        guard bound >= 0 else {
            throw .io("cannot listen on \(address): \(String(cString: strerror(lastError))) (is the port taken?)")
        }
        fd = bound
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(bound, $0, &length) } }
        let family = Int32(storage.ss_family)
        port = withUnsafePointer(to: &storage) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }

    /// Starts answering on the server's own queue; returns at once.
    public func start() {
        queue.async { [self] in
            while !closed.withLock({ $0 }) {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { continue }
                    return  // the listening socket was shut down
                }
                serve(client)
            }
        }
    }

    /// Stops accepting and closes the listening socket.
    public func stop() {
        let first = closed.withLock { closed in
            defer { closed = true }
            return !closed
        }
        guard first else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        queue.sync {}  // the accept loop has returned
        close(fd)
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        var parsed = HTTPExchange.Parsed.incomplete
        while parsed == .incomplete {
            let count = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }  // closed or timed out before a whole request
            request += buffer[0..<count]
            parsed = HTTPExchange.parse(request)
        }
        let response: HTTPExchange.Response
        var headOnly = false
        switch parsed {
        case .request(let method, let path):
            headOnly = method == "HEAD"
            response = HTTPExchange.respond(method: method, path: path, metrics: metrics)
        case .bad(let status):
            response = HTTPExchange.Response(status: status, body: Array("bad request\n".utf8))
        case .incomplete:
            return
        }
        let bytes = HTTPExchange.serialize(response, headOnly: headOnly)
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes { send(client, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if sent < 0 && errno == EINTR { continue }
            guard sent > 0 else { return }
            offset += sent
        }
    }
}
